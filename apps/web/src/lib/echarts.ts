// ECharts with only the parts the sweep page draws (tree-shaken: never `import * from 'echarts'`):
// line, scatter and parallel series; grid, parallel axes, tooltip, legend, continuous visual map and
// the aria description; the SVG renderer (a few hundred trials at most, crisp at any zoom).
import { LineChart, ParallelChart, ScatterChart } from 'echarts/charts';
import {
  AriaComponent,
  GridComponent,
  LegendComponent,
  ParallelComponent,
  TooltipComponent,
  VisualMapContinuousComponent,
} from 'echarts/components';
import { init, use } from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';

use([
  LineChart,
  ScatterChart,
  ParallelChart,
  AriaComponent,
  GridComponent,
  LegendComponent,
  ParallelComponent,
  TooltipComponent,
  VisualMapContinuousComponent,
  SVGRenderer,
]);

export type { EChartsType } from 'echarts/core';
export { init };
