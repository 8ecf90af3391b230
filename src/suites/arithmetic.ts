import { z } from "zod";
import { parseOptions } from "../options.ts";
import { codeTool } from "../../tools/code/index.ts";
import type { EnvironmentFactory } from "../../tools/environment.ts";
import { Docstore, WikiEnvironment, type QaTask } from "../../tools/wiki/index.ts";
import { Random, SeedSchema } from "../random.ts";
import { SPLITS, SplitSchema, type Split } from "../world/schema.ts";

/** The prompt (prompts/arithmetic.txt) arithmetic episodes run with: an instruction naming Code and Finish, no exemplars. */
export const ARITHMETIC_PROMPT = "arithmetic";

/** Questions per split when no count is asked for. */
export const ARITHMETIC_SIZES: Record<Split, number> = { train: 3000, dev: 300, test: 300 };

export const ArithmeticOptionsSchema = z.object({
  seed: SeedSchema.default(1),
  split: SplitSchema.default("test"),
  /** Default `ARITHMETIC_SIZES[split]`. */
  count: z.number().int().min(1).max(100_000).optional(),
});
export type ArithmeticOptions = z.input<typeof ArithmeticOptionsSchema>;

type Operator = "+" | "-" | "*" | "/";
type Expression = number | { operator: Operator; left: Expression; right: Expression };

/** A word problem and the computation that answers it. */
interface Problem {
  question: string;
  expression: Expression;
}

const PRECEDENCE: Record<Operator, number> = { "+": 1, "-": 1, "*": 2, "/": 2 };
const operation = (operator: Operator) => (left: Expression, right: Expression): Expression => ({ operator, left, right });
const add = operation("+");
const subtract = operation("-");
const multiply = operation("*");
const divide = operation("/");

/** Each draws its numbers so that every intermediate value is a positive integer. */
const PROBLEMS: readonly ((random: Random) => Problem)[] = [
  (random) => {
    const [boxes, pens] = [random.int(12, 60), random.int(12, 48)];
    const sold = random.int(Math.ceil((boxes * pens) / 4), boxes * pens - 1);
    return {
      question: `A shop has ${boxes} boxes of ${pens} pens and sells ${sold} pens. How many pens are left?`,
      expression: subtract(multiply(boxes, pens), sold),
    };
  },
  (random) => {
    const [friends, each] = [random.int(3, 9), random.int(12, 90)];
    const dinner = random.int(Math.ceil((friends * each) / 3), friends * each - 5);
    const taxi = friends * each - dinner;
    return {
      question: `A group of ${friends} friends shares a ${dinner}-dollar dinner and a ${taxi}-dollar taxi ride equally. How many dollars does each of them pay?`,
      expression: divide(add(dinner, taxi), friends),
    };
  },
  (random) => {
    const [rate, minutes] = [random.int(5, 40), random.int(5, 60)];
    const capacity = rate * minutes + random.int(10, 900);
    return {
      question: `A tank holds ${capacity} litres. A pump fills it with ${rate} litres a minute for ${minutes} minutes. How many more litres fit in the tank?`,
      expression: subtract(capacity, multiply(rate, minutes)),
    };
  },
  (random) => {
    const [shelves, books, bought] = [random.int(8, 40), random.int(20, 60), random.int(15, 300)];
    const given = random.int(10, shelves * books);
    return {
      question: `A library has ${shelves} shelves of ${books} books. It buys ${bought} books and gives away ${given}. How many books does it have now?`,
      expression: subtract(add(multiply(shelves, books), bought), given),
    };
  },
  (random) => {
    const [speed1, hours1, speed2, hours2] = [random.int(40, 120), random.int(2, 9), random.int(40, 120), random.int(2, 9)];
    return {
      question: `A train runs at ${speed1} km an hour for ${hours1} hours, then at ${speed2} km an hour for ${hours2} hours. How many kilometres does it cover?`,
      expression: add(multiply(speed1, hours1), multiply(speed2, hours2)),
    };
  },
  (random) => {
    // At least 240 pencils, at most 200 erasers.
    const [pencilPacks, pencils, eraserPacks, erasers] = [random.int(20, 60), random.int(12, 24), random.int(5, 20), random.int(4, 10)];
    return {
      question: `A school buys ${pencilPacks} packs of ${pencils} pencils and ${eraserPacks} packs of ${erasers} erasers. How many more pencils than erasers does it buy?`,
      expression: subtract(multiply(pencilPacks, pencils), multiply(eraserPacks, erasers)),
    };
  },
  (random) => {
    const [trays, rolls, days] = [random.int(3, 12), random.int(12, 36), random.int(2, 7)];
    const unsold = random.int(5, trays * rolls);
    return {
      question: `A bakery bakes ${trays} trays of ${rolls} rolls a day for ${days} days, and ${unsold} rolls are left unsold. How many rolls does it sell?`,
      expression: subtract(multiply(multiply(trays, rolls), days), unsold),
    };
  },
  (random) => {
    const [wage, hours, weeks] = [random.int(12, 45), random.int(10, 40), random.int(2, 8)];
    const spent = random.int(100, wage * hours * weeks - 1);
    return {
      question: `A worker earns ${wage} dollars an hour for ${hours} hours a week. After ${weeks} weeks the worker has spent ${spent} dollars. How many dollars are left?`,
      expression: subtract(multiply(multiply(wage, hours), weeks), spent),
    };
  },
  (random) => {
    const [members, fee, months, projects] = [random.int(12, 80), random.int(5, 30), random.int(3, 12), random.int(3, 9)];
    const income = members * fee * months;
    const share = random.int(Math.ceil(income / (2 * projects)), Math.floor((income - 1) / projects));
    const rent = income - projects * share;
    return {
      question: `A club has ${members} members who each pay ${fee} dollars a month. After ${months} months it spends ${rent} dollars on rent and splits the rest equally among ${projects} projects. How many dollars does each project get?`,
      expression: divide(subtract(multiply(multiply(members, fee), months), rent), projects),
    };
  },
];

/** Question streams of different splits never meet: split k draws item i from stream k * SPLIT_STRIDE + i. */
const SPLIT_STRIDE = 1_000_000;

/**
 * Multi-step arithmetic word problems that need the code interpreter, as
 * benchmark tasks: distinct questions, each drawn from its own seeded stream, so
 * a split's first N questions are the same whatever count is asked for. Each
 * task's `program` computes its answer (an integer) and its `type` is how many
 * operations it takes (`ops-2` to `ops-4`). There are no pages to search.
 */
export function arithmeticTasks(options: ArithmeticOptions = {}): QaTask[] {
  const asked = parseOptions("arithmeticTasks", ArithmeticOptionsSchema, options);
  const { seed, split, count = ARITHMETIC_SIZES[asked.split] } = asked;
  const tasks: QaTask[] = [];
  const seen = new Set<string>();
  for (let item = 0; tasks.length < count; item++) {
    const random = Random.forItem(seed, SPLITS.indexOf(split) * SPLIT_STRIDE + item);
    const { question, expression } = random.pick(PROBLEMS)(random);
    if (seen.has(question)) continue;
    seen.add(question);
    tasks.push({
      id: `arithmetic-${split}-${String(tasks.length + 1).padStart(5, "0")}`,
      question,
      answer: String(evaluate(expression)),
      type: `ops-${operations(expression)}`,
      supportingFacts: [],
      context: [],
      program: programOf(expression),
    });
  }
  return tasks;
}

/** The environment arithmetic episodes run in: `Code[...]` and Finish (Search finds nothing: the wiki is empty). */
export const arithmeticEnvironment: EnvironmentFactory<QaTask> = (_task, tools = []) => new WikiEnvironment(new Docstore([]), [codeTool(), ...tools]);

/** JavaScript for the expression, with parentheses only where precedence needs them: `(12 + 30) / 3`. */
function programOf(expression: Expression, outer = 0, rightOperand = false): string {
  if (typeof expression === "number") return String(expression);
  const precedence = PRECEDENCE[expression.operator];
  const text = `${programOf(expression.left, precedence)} ${expression.operator} ${programOf(expression.right, precedence, true)}`;
  return precedence < outer || (rightOperand && precedence === outer) ? `(${text})` : text;
}

function evaluate(expression: Expression): number {
  if (typeof expression === "number") return expression;
  const [left, right] = [evaluate(expression.left), evaluate(expression.right)];
  const value = { "+": left + right, "-": left - right, "*": left * right, "/": left / right }[expression.operator];
  if (!Number.isInteger(value) || value <= 0) throw new Error(`arithmetic: ${programOf(expression)} is not a positive integer`);
  return value;
}

function operations(expression: Expression): number {
  return typeof expression === "number" ? 0 : 1 + operations(expression.left) + operations(expression.right);
}
