import { describe, expect, it } from "vitest";
import { lineChart } from "../src/report/chart.ts";

describe("lineChart", () => {
  const options = { title: "T <1>", xLabel: "update", yLabel: "value" };

  it("draws one path per series, scaled into the plot, with its legend", () => {
    const svg = lineChart([{ name: "reward", points: [[0, 0], [1, 1]] }, { name: "KL", points: [[0, 0.5]] }], options);
    expect(svg.match(/<path d="M[\d.]+,[\d.]+/g)).toHaveLength(3); // the axes, then the two series
    expect(svg).toContain(">reward</text>");
    expect(svg).toContain("T &lt;1&gt;");
    expect(svg).not.toContain("NaN");
  });

  it("keeps a flat series on a readable axis", () => {
    const svg = lineChart([{ name: "success", points: [[1, 0], [2, 0]] }], options);
    expect(svg).not.toContain("NaN");
    expect(svg).toContain(">1</text>");
  });
});
