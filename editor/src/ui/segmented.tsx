/** A segmented control: a radio group of buttons, for a choice among a few short options. */
import type { ReactNode } from 'react';

export interface SegmentedOption<T> {
  value: T;
  label: ReactNode;
}

export function Segmented<T>(props: {
  options: readonly SegmentedOption<T>[];
  value: T;
  onChange(value: T): void;
  label: string;
  small?: boolean;
  disabled?: boolean;
  id?: string;
}) {
  return (
    <div
      className={props.small ? 'segmented small' : 'segmented'}
      role="radiogroup"
      aria-label={props.label}
      {...(props.id ? { id: props.id } : {})}
    >
      {props.options.map((o) => (
        <button
          key={String(o.value)}
          type="button"
          role="radio"
          aria-checked={props.value === o.value}
          className={props.value === o.value ? 'active' : ''}
          disabled={props.disabled}
          onClick={() => props.onChange(o.value)}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}
