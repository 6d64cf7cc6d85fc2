/**
 * The pieces of the ingest fast way, each of which can be switched off alone so that the
 * bench measures the ingest without it, side by side with the ingest with all of them
 * (`npm run bench -- ingest --pieces`, bench/ingest.bench.ts). A piece stays only while
 * that shows it pays. Switched off, a piece is not used, but what it keeps for the next
 * capture is still kept, so turns of the bench do not disturb each other; the ingest then
 * takes the general way for that piece and stores the same. Nothing but the bench sets these.
 */
export const fastPathOff = {
  /** vm_text_memo.ts: a VM whose text is as in the previous capture is not parsed. */
  memo: false,
  /**
   * capture_text.ts, stream_capture.ts: VMs are read from the text in parts while their facts
   * are COPYed (and, in the agents' layout, while the rest of the body arrives).
   */
  cut: false,
  /** source_state.ts: the source state is kept from this node's previous ingest. */
  stateCache: false,
};
