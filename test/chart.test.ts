import { describe, expect, it } from "vitest";
import { lineChart, stackCharts } from "../src/report/chart.ts";

/** The centres of a chart's point markers, in order. */
const markers = (svg: string) => [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);

describe("lineChart", () => {
  const options = { title: "T <1>", xLabel: "update", yLabel: "value" };

  it("draws one path per series, scaled into the plot, with its legend", () => {
    const svg = lineChart([{ name: "reward", points: [[0, 0], [1, 1]] }, { name: "KL", points: [[0, 0.5], [1, 0.25]] }], options);
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

  it("marks each point, so a series of one point still shows, but not the points of a long curve", () => {
    const svg = lineChart([{ name: "success", points: [[1, 0.5]] }], options);
    expect(markers(svg)).toHaveLength(1);
    expect(svg).not.toContain("NaN");
    const steps = Array.from({ length: 1000 }, (_, i) => [i, 1 / (i + 1)] as const);
    expect(markers(lineChart([{ name: "loss", points: steps }], options))).toHaveLength(0);
  });

  it("scales a right-axis series on its own: a small KL spans the plot beside a reward", () => {
    const svg = lineChart(
      [
        { name: "reward", points: [[1, 0], [2, 1]] },
        { name: "KL", points: [[1, 0], [2, 0.01]], axis: "right" },
      ],
      { ...options, y2Label: "KL per token" },
    );
    const [rewardLow, rewardHigh, klLow, klHigh] = markers(svg);
    expect(klHigh![1]).toBe(rewardHigh![1]); // 0.01 on the right is as high as 1 on the left
    expect(klLow![1]).toBe(rewardLow![1]);
    expect(svg).toContain(">KL per token</text>");
    expect(svg).toContain(">KL (right)</text>");
    expect(svg).toContain(">0.01</text>"); // the right axis's top tick
    expect(svg.match(/stroke-dasharray/g)).toHaveLength(2); // the right axis and its series
  });
});

describe("stackCharts", () => {
  it("puts charts one above the other in one SVG", () => {
    const chart = (height: number) => lineChart([{ name: "a", points: [[0, 0], [1, 1]] }], { title: "t", xLabel: "x", yLabel: "y", height });
    const svg = stackCharts([chart(300), chart(200)]);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="560" height="500">/);
    expect(svg).toContain(`<g transform="translate(0,300)">`);
  });
});
