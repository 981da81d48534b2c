import type { RequestView } from './exchange-views.js';

/** node:http's own test for a 100-continue expectation (lib/_http_server.js). */
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;

/**
 * Whether a request names an expectation the proxy cannot meet: an HTTP/1.1 `Expect` other than
 * 100-continue, which node:http hands over as 'checkExpectation' instead of 'request'. RFC 9110
 * §10.1.1 lets a server answer it 417; forwarding it would pass on a promise no hop here can keep.
 * HTTP/1.0 requests are node:http's ordinary requests whatever their Expect, and stay so.
 */
export function unmetExpectation(req: RequestView): boolean {
  const expect = req.headers.expect;
  return expect !== undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && !CONTINUE.test(expect);
}

/** Whether an HTTP/1.1 request asks for a 100 (Continue) before it sends its body (RFC 9110 §10.1.1). */
export function asksContinue(req: RequestView): boolean {
  const expect = req.headers.expect;
  return expect !== undefined && req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && CONTINUE.test(expect);
}
