/**
 * Where a comment's command is, for every comment command (`/fork`, `/pick`, `/refork`): the first line that
 * starts with `/<name>` (up to 3 spaces of indentation, like a Markdown paragraph). Lines inside
 * fenced code blocks and quoted lines (`> /fork ...`) never count, and the first command line of
 * the comment wins, whichever command it is.
 */

/** The comment commands Forkyard answers. */
export const COMMENT_COMMANDS = ["fork", "pick", "refork"] as const;
export type CommentCommandName = (typeof COMMENT_COMMANDS)[number];

export interface CommandLine {
  name: CommentCommandName;
  /** The rest of the command's line, after `/<name>`. */
  rest: string;
  /** Every line after the command's line. */
  following: string;
}

const FENCE = /^[ \t]{0,3}(```|~~~)/;

/** The first line of `body` that is one of the `names` commands, or null. */
export function findCommandLine(body: string, names: readonly CommentCommandName[] = COMMENT_COMMANDS): CommandLine | null {
  const commandLine = new RegExp(`^[ \\t]{0,3}\\/(${names.join("|")})(?=\\s|$)(.*)$`, "i");
  const lines = body.replace(/\r\n?/g, "\n").split("\n");
  let fenced = false;
  for (const [index, line] of lines.entries()) {
    if (FENCE.test(line)) {
      fenced = !fenced;
      continue;
    }
    if (fenced) continue;
    const match = commandLine.exec(line);
    if (match) return { name: match[1]!.toLowerCase() as CommentCommandName, rest: match[2] ?? "", following: lines.slice(index + 1).join("\n") };
  }
  return null;
}
