/** The parts of a capture could not be vouched for; it must be parsed whole. */
export class NeedsWholeParse extends Error {
  constructor(reason: string) {
    super(`capture must be parsed whole: ${reason}`);
    this.name = 'NeedsWholeParse';
  }
}
