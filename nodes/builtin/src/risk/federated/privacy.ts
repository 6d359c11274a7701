/**
 * Privacy accounting of differentially private federated training. Each training round releases one sum of
 * per-row gradients, each clipped to L2 norm C, with Gaussian noise of standard deviation sigma * C: a Gaussian
 * mechanism of sensitivity C under add/remove-one-row neighbours (a row at any holder), which satisfies
 * rho-zCDP with rho = 1 / (2 sigma^2) (Bun & Steinke 2016, Proposition 1.6). zCDP composes by adding rho over
 * the rounds (and the evaluation histogram, sensitivity 1), and converts to (epsilon, delta)-DP by
 * epsilon = rho + 2 sqrt(rho ln(1/delta)) (Proposition 1.3). Full-batch rounds: no amplification by sampling is
 * claimed.
 */

export const ACCOUNTING_METHOD =
  'zero-concentrated DP (zCDP, Bun & Steinke 2016): Gaussian mechanism per release, rho added over releases, epsilon = rho + 2 sqrt(rho ln(1/delta)); add/remove-one-row neighbours; full batches, no sampling amplification';

/** epsilon of rho-zCDP at a given delta. */
export function epsilonOf(rho: number, delta: number): number {
  return rho + 2 * Math.sqrt(rho * Math.log(1 / delta));
}

/** The largest rho whose (epsilon, delta) conversion stays within epsilon (a hair below, against rounding). */
export function rhoFor(epsilon: number, delta: number): number {
  const l = Math.log(1 / delta);
  return (Math.sqrt(l + epsilon) - Math.sqrt(l)) ** 2 * (1 - 1e-9);
}

/** rho of one Gaussian release with noise sd = multiplier * sensitivity. */
export const gaussianRho = (multiplier: number) => 1 / (2 * multiplier * multiplier);

export interface PrivacyPlan {
  epsilon: number;
  delta: number;
  rho: number;
  /** Noise multiplier (sd / sensitivity) of each training round. */
  trainingMultiplier: number;
  /** Noise multiplier of the evaluation histogram, when evaluated. */
  evaluationMultiplier?: number;
}

/**
 * Splits a target (epsilon, delta) over `rounds` training releases and, optionally, one evaluation release that
 * gets `evaluationShare` of the budget.
 */
export function planPrivacy(
  epsilon: number,
  delta: number,
  rounds: number,
  evaluationShare: number | undefined,
): PrivacyPlan {
  const rho = rhoFor(epsilon, delta);
  const trainRho = evaluationShare ? rho * (1 - evaluationShare) : rho;
  const plan: PrivacyPlan = {
    epsilon,
    delta,
    rho,
    trainingMultiplier: Math.sqrt(rounds / (2 * trainRho)),
  };
  if (evaluationShare) plan.evaluationMultiplier = Math.sqrt(1 / (2 * rho * evaluationShare));
  return plan;
}

/** epsilon actually spent by the releases made (rounds may stop early; a redone round releases nothing new). */
export function spentEpsilon(
  plan: PrivacyPlan,
  trainingReleases: number,
  evaluated: boolean,
): { epsilon: number; rho: number } {
  let rho = trainingReleases * gaussianRho(plan.trainingMultiplier);
  if (evaluated && plan.evaluationMultiplier) rho += gaussianRho(plan.evaluationMultiplier);
  return { rho, epsilon: epsilonOf(rho, plan.delta) };
}
