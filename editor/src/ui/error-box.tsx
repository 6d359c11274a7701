/**
 * An error shown where it happened: one look and one announcement (role=alert) for every refusal the editor
 * shows. Renders nothing when there is no error, so a caller writes `<ErrorBox>{error}</ErrorBox>`.
 */
import type { ReactNode } from 'react';

export function ErrorBox(props: { children: ReactNode; testId?: string }) {
  const { children, testId } = props;
  if (children === null || children === undefined || children === false || children === '') return null;
  return (
    <div className="error-box" role="alert" {...(testId ? { 'data-testid': testId } : {})}>
      {children}
    </div>
  );
}
