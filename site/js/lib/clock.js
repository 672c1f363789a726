// The server's clock as this page knows it, and a phase's state by it.

// Office PCs often have a wrong clock: the API's seconds_left tells us how far off this one is.
let clockSkewMs = 0;

export function learnServerClock(phases) {
  const samples = (phases || [])
    .filter((p) => p && p.seconds_left > 0 && p.closes_at)
    .map((p) => Date.parse(p.closes_at) - p.seconds_left * 1000 - Date.now());
  if (samples.length) {
    const skew = samples[0];
    // seconds_left is truncated to whole seconds and the answer took some time to arrive.
    clockSkewMs = Math.abs(skew) > 2000 ? skew : 0;
  }
}

export function serverNow() {
  return Date.now() + clockSkewMs;
}

/** The state as of now on this page (a phase left open at load time closes while the page is shown). */
export function currentState(phase) {
  const now = serverNow();
  if (now < Date.parse(phase.opens_at)) return 'upcoming';
  if (now < Date.parse(phase.closes_at)) return 'open';
  return 'closed';
}
