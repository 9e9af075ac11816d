/**
 * Heavy group-chat users. Each is in a few group chats of friends or family; a group's texts
 * come in sessions (someone asks something, a flurry of answers), and every post reaches each
 * other member as its own message at the same instant: one post in a group of 8 is 7 messages
 * in one second from one number, to people who text that number back.
 */
import { param } from '../params.ts';
import { carrierOf } from '../responses.ts';
import { chatOpener, chatReply } from './chat-text.ts';
import { defineKind, LEGITIMATE, poisson } from './kind.ts';

const WARM_UP_MS = 15 * 60_000;

export const groupChat = defineKind({
  kind: 'group-chat',
  summary: 'Heavy group-chat users: every post fans out to each member at once',
  params: {
    groupsPerUser: param.number(4, 'group chats each heavy user is in', { min: 1, max: 20, integer: true }),
    groupSize: param.range([4, 9], 'members per group, the heavy user included', {
      min: 3,
      max: 30,
      integer: true,
    }),
    postsPerGroupPerHour: param.number(30, 'posts in an average group in an hour', { min: 0.1, max: 600 }),
    meanSessionPosts: param.number(6, 'mean posts in one burst of group activity', { min: 1, max: 100 }),
    postGapSeconds: param.number(20, 'median gap between posts in a burst, s', { min: 1, max: 3600 }),
    heavyUserPostShare: param.probability(0.4, 'share of posts the heavy user writes'),
  },
  truth: () => ({
    title: 'Group-chat heavy users (each post fans out to the group)',
    spam: false,
    expect: LEGITIMATE,
  }),
  build(p, { id, ratePerSecond, sim, rng, text, pool }) {
    const meanSize = (p.groupSize[0] + p.groupSize[1]) / 2;
    const groups = Math.max(1, Math.ceil((ratePerSecond * 3600) / (p.postsPerGroupPerHour * (meanSize - 1))));
    const users = Math.ceil(groups / p.groupsPerUser);
    const sizes = Array.from({ length: groups }, () => rng.int(p.groupSize[0], p.groupSize[1]));
    const heavy = pool.allocate(`${id} heavy users`, users, 'local');
    const memberCount = sizes.reduce((s, n) => s + n - 1, 0);
    const others = pool.allocate(`${id} members`, memberCount, 'local');
    let next = 0;
    // Member 0 of each group is its heavy user.
    const members = sizes.map((size, g) => [
      heavy.at(g % users),
      ...Array.from({ length: size - 1 }, () => others.at(next++)),
    ]);
    const post = (group: readonly string[], author: number, body: string) => {
      const sender = group[author]!;
      for (let j = 0; j < group.length; j++) {
        if (j === author) continue;
        sim.message(id, {
          sender,
          senderKind: 'LONG_CODE',
          recipient: group[j]!,
          body,
          campaignId: null,
          originNetwork: carrierOf(sender),
        });
      }
    };
    const session = (t0: number) => {
      const group = members[rng.int(0, groups - 1)]!;
      const keepGoing = 1 - 1 / p.meanSessionPosts;
      // Someone other than the heavy user opens the session.
      let author = rng.int(1, group.length - 1);
      let t = t0;
      let first = true;
      const advance = (): boolean => {
        if (!rng.chance(keepGoing)) return false;
        t += rng.logNormal(p.postGapSeconds * 1000, 1);
        author = rng.chance(p.heavyUserPostShare) ? 0 : rng.int(1, group.length - 1);
        first = false;
        return true;
      };
      while (t < sim.now) if (!advance()) return;
      const send = () => {
        post(group, author, first ? chatOpener(rng, text) : chatReply(rng));
        if (advance()) sim.at(t, send);
      };
      sim.at(t, send);
    };
    return {
      plannedSenders: users + memberCount,
      start() {
        const sessionsPerSecond = (groups * p.postsPerGroupPerHour) / p.meanSessionPosts / 3600;
        poisson(sim, rng, sessionsPerSecond, sim.now - WARM_UP_MS, session);
      },
    };
  },
});
