/**
 * The recognizers, in the order they are asked about each error (the first answer wins for that error; across
 * the `cause` graph the most specific answer wins, see `RANK`): the library's own errors, SDK v2 (branded
 * classes with string codes), SDK v1, Node and undici, then message heuristics.
 *
 * @packageDocumentation
 */

import { type Recognizer } from './finding.js';
import { recognizeHeuristics } from './heuristics.js';
import { recognizeLibrary } from './library.js';
import { recognizeNode } from './node.js';
import { recognizeSdkV1 } from './sdk-v1.js';
import { recognizeSdkV2 } from './sdk-v2.js';

/** Every recognizer, in order. */
export const RECOGNIZERS: readonly Recognizer[] = Object.freeze([
  recognizeLibrary,
  recognizeSdkV2,
  recognizeSdkV1,
  recognizeNode,
  recognizeHeuristics,
]);
