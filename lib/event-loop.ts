/**
 * Long synchronous loops (appending thousands of rows, expanding patterns) run in the API
 * server's thread while an assessment runs; `await breathe()` inside such a loop hands the
 * event loop over (setImmediate) once the loop has held it for `sliceMs`, so requests are
 * answered between slices. Cheap when the slice has not run out: one clock read.
 */
export function timeSlicer(sliceMs = 20): () => Promise<void> | undefined {
  let started = performance.now();
  return () => {
    if (performance.now() - started < sliceMs) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        started = performance.now();
        resolve();
      }),
    );
  };
}
