/** Placeholder replaced in the next commit. */
export async function runWhatIf(
  _args: string[],
  _env: NodeJS.ProcessEnv,
  out: (l: string) => void,
): Promise<number> {
  out('what-if: not built yet');
  return 1;
}
