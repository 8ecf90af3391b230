// Reports: learning curves drawn from a metrics log, and the HTML and Markdown page that holds them.
export { lineChart, stackCharts, type ChartOptions, type Series } from "./chart.ts";
export { metricCharts, writeReport, type Curve, type MetricChart, type ReportPage, type Table } from "./report.ts";
