import { afterEach, expect, it } from 'vitest';
import { Pool, type Dispatcher } from 'undici';
import { createRequestSlots, type Traffic } from '../../../src/verdict/request-slots.js';
import { startHoldingOrigin, type HoldingOrigin } from '../../helpers/holding-origin.js';

/**
 * The client's request slots over a real undici Pool to a real origin that holds each answer until
 * the test ends it. Background requests (block reports, replay) hold at most their share of the
 * slots and a freed slot goes to a live request waiting (a verdict) before a background one that
 * waited longer; with no live request waiting, background ones go on within their share.
 */
const SLOTS = 4;
const BACKGROUND_SLOTS = 2;

let origin: HoldingOrigin | null = null;
let pool: Pool | null = null;
const controllers: AbortController[] = [];

afterEach(async () => {
  for (const controller of controllers.splice(0)) controller.abort();
  await pool?.destroy();
  pool = null;
  await origin?.close();
  origin = null;
});

it('background requests hold at most their share, and a freed slot goes to a waiting live request first', async () => {
  const held = await startHoldingOrigin();
  origin = held;
  const dispatcher = new Pool(`http://127.0.0.1:${held.port}`, { connections: SLOTS, pipelining: 1 });
  pool = dispatcher;
  const slots = createRequestSlots(dispatcher, SLOTS, BACKGROUND_SLOTS);
  const send = (name: string, traffic: Traffic): Promise<Dispatcher.ResponseData> => {
    const controller = new AbortController();
    controllers.push(controller);
    const sent = slots.request({ origin: `http://127.0.0.1:${held.port}`, method: 'GET', path: `/held-${name}` }, controller.signal, traffic);
    // A request the test never finishes (it failed early) is given up at the end, unread.
    sent.catch(() => undefined);
    return sent;
  };
  /** The origin answers `name`; resolves once its body is read, so its slot is free again. */
  const finish = async (name: string, sent: Promise<Dispatcher.ResponseData>): Promise<void> => {
    (await held.held(`/held-${name}`)).end('ok');
    expect(await (await sent).body.text()).toBe('ok');
  };
  const arrival = (name: string): Promise<string> => held.held(`/held-${name}`).then(() => name);

  const b1 = send('b1', 'background');
  const b2 = send('b2', 'background');
  const b3 = send('b3', 'background');
  await Promise.all([arrival('b1'), arrival('b2')]);
  // Two slots free, yet b3 waits: the background share is full. A live request takes a free slot at once.
  const l1 = send('l1', 'live');
  expect(await Promise.race([arrival('b3'), arrival('l1')])).toBe('l1');
  const l2 = send('l2', 'live');
  await arrival('l2');
  // Every slot busy: l3 waits behind b3.
  const l3 = send('l3', 'live');

  // b1's slot goes to l3, the live request, although b3 waited longer.
  await finish('b1', b1);
  expect(await Promise.race([arrival('b3'), arrival('l3')])).toBe('l3');

  // No live request waits now: the next freed slot goes to b3, within the share again.
  await finish('l1', l1);
  expect(await arrival('b3')).toBe('b3');

  for (const [name, sent] of [['b2', b2], ['b3', b3], ['l2', l2], ['l3', l3]] as const) await finish(name, sent);
}, 15_000);
