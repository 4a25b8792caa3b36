import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

/** axe-core's own build, injected into the page under test (nothing is fetched from the network). */
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/** The impacts an accessibility check refuses (issue 14: no serious or critical violations on any page). */
export const REFUSED_IMPACTS = ['serious', 'critical'];

/**
 * Runs axe-core (WCAG 2.x A and AA rules and axe's best practices) on the page as it is now and returns the
 * violations whose impact is serious or critical, each with the CSS selectors of the offending elements.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  if (!(await page.evaluate<boolean>("typeof window.axe === 'object'"))) {
    // Through the DevTools protocol, not a <script> tag: the console's Content-Security-Policy (script-src
    // 'self') rightly refuses inline scripts, and the check must not loosen it.
    await page.evaluate(`${AXE_SOURCE}\n;undefined`);
  }
  // Evaluated as a string: the test's own typings have no DOM and no `axe` global.
  const violations = await page.evaluate<AxeViolation[]>(`(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      targets: v.nodes.map((n) => n.target.map(String).join(' ')),
    }));
  })()`);
  return violations.filter((v) => v.impact !== null && REFUSED_IMPACTS.includes(v.impact));
}

/** The violations as lines for a failure message: id, impact, help and the first targets. */
export function describeViolations(where: string, violations: AxeViolation[]): string {
  return violations
    .map(
      (v) =>
        `${where}: ${v.id} (${v.impact}) ${v.help}\n    ${v.targets.slice(0, 8).join('\n    ')}${
          v.targets.length > 8 ? `\n    … ${v.targets.length - 8} more` : ''
        }`,
    )
    .join('\n');
}

/**
 * Asserts the page has no serious or critical accessibility violation; the failure message lists each
 * violation with its impact and the elements concerned.
 */
export async function expectAccessible(page: Page, where: string): Promise<void> {
  const violations = await seriousAxeViolations(page);
  expect({ where, violations: describeViolations(where, violations) }).toEqual({ where, violations: '' });
}
