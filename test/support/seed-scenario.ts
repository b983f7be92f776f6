/**
 * The seed scenario (test/paxos-scenarios.test.ts), scripted as one function:
 * 3 nodes; node 1 (id 0) coordinates with b1, node 2 (id 1) with b2 > b1;
 * node 3 (id 2) hears prepare(b1), then prepare(b2); b1's accept is rejected
 * by node 3 and b1 retries higher; node 1's retry is held back, so B wins
 * slot 0 and A lands in slot 1. Recorded as a ballot timeline (time: steps).
 */
import { makeBallot } from '../../src/paxos/ballot.js';
import { MsgType } from '../../src/paxos/messages.js';
import { BallotRecorder } from '../../src/report/ballot-timeline.js';
import { ScriptedNet } from './scripted-net.js';

export const B1 = makeBallot(1, 0);
export const B2 = makeBallot(1, 1);

export function recordedSeedScenario(): { net: ScriptedNet; recorder: BallotRecorder } {
  const net = new ScriptedNet(3, 'immediate');
  const recorder = new BallotRecorder(3, 3, 2, 'step');
  net.timeline = recorder;
  net.propose(0, 'A');
  net.propose(1, 'B');
  net.deliver((m) => m.to === 2 && m.msg.t === MsgType.Prepare && m.msg.ballot === B1);
  net.deliver((m) => m.to === 2 && m.msg.t === MsgType.Prepare && m.msg.ballot === B2);
  net.deliver((m) => m.from === 2 && m.to === 0 && m.msg.t === MsgType.Promise);
  net.deliver((m) => m.from === 2 && m.to === 1 && m.msg.t === MsgType.Promise);
  net.deliver((m) => m.from === 0 && m.to === 2 && m.msg.t === MsgType.Accept);
  net.deliver((m) => m.to === 0 && m.msg.t === MsgType.Nack);
  net.run((inflight) => Math.max(0, inflight.findIndex((m) => m.from !== 0)), 10_000);
  return { net, recorder };
}
