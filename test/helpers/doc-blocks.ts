// Code in the docs that a test runs: a ```ts tested block, followed by the
// ```text block of exactly what it prints.

export interface TestedBlock {
  /** 1-based line of the code block's opening fence. */
  line: number;
  code: string;
  /** What the code prints, trimmed. */
  output: string;
}

const FENCE = /^```(.*)$/;

/** The tested blocks of a markdown text; a tested block with no output block after it is an error. */
export function testedBlocks(markdown: string, file: string): TestedBlock[] {
  const blocks: { info: string; line: number; body: string }[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    while (++i < lines.length && lines[i] !== "```");
    blocks.push({ info: open[1]!.trim(), line: start + 1, body: lines.slice(start + 1, i).join("\n") });
  }
  return blocks.flatMap((block, i) => {
    if (block.info !== "ts tested") return [];
    const next = blocks[i + 1];
    if (next?.info !== "text") throw new Error(`${file}:${block.line}: a tested block needs a \`\`\`text block of its output after it`);
    return [{ line: block.line, code: block.body, output: next.body.trim() }];
  });
}
