import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure } from './api.ts';

/** Copy text to the clipboard; falls back to a hidden textarea where the Clipboard API is refused. */
export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    return;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (!ok) throw new Error('the browser refused to copy');
  }
}

export function CopyButton(props: { text: string; label: string; what: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => () => window.clearTimeout(timer.current), []);
  const onClick = () => {
    copyText(props.text).then(
      () => setState('copied'),
      () => setState('failed'),
    );
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(() => setState('idle'), 2500);
  };
  return (
    <span class="copy">
      <button type="button" class="small" onClick={onClick} aria-label={`Copy ${props.what}`}>
        {props.label}
      </button>
      <span class="copy-status" aria-live="polite">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : ''}
      </span>
    </span>
  );
}

export function Badge(props: { kind: string; value: string | null | undefined; title?: string }) {
  const value = props.value ?? '–';
  return (
    <span
      class={`badge ${props.kind}-${value.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`}
      title={props.title}
    >
      {value}
    </span>
  );
}

export function ErrorNote(props: { error: unknown }) {
  const e = props.error;
  const message =
    e instanceof ApiFailure
      ? `${e.message} (${e.code})`
      : e instanceof Error
        ? e.message
        : String(e);
  return (
    <p class="error" role="alert">
      {message}
    </p>
  );
}

export function Loading(props: { what: string }) {
  return (
    <p class="muted" aria-live="polite">
      Loading {props.what}…
    </p>
  );
}

export interface TabSpec {
  id: string;
  label: string;
  render: () => ComponentChildren;
}

/** WAI-ARIA tabs: arrow keys, Home and End move between tabs; only the selected one is in the tab order. */
export function Tabs(props: { tabs: TabSpec[]; label: string; idPrefix: string }) {
  const [selected, setSelected] = useState(props.tabs[0]!.id);
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});
  const ids = props.tabs.map((t) => t.id);
  const move = (to: number) => {
    const id = ids[(to + ids.length) % ids.length]!;
    setSelected(id);
    refs.current[id]?.focus();
  };
  const onKeyDown = (event: KeyboardEvent) => {
    const at = ids.indexOf(selected);
    if (event.key === 'ArrowRight') move(at + 1);
    else if (event.key === 'ArrowLeft') move(at - 1);
    else if (event.key === 'Home') move(0);
    else if (event.key === 'End') move(ids.length - 1);
    else return;
    event.preventDefault();
  };
  const current = props.tabs.find((t) => t.id === selected) ?? props.tabs[0]!;
  return (
    <div class="tabs">
      <div role="tablist" aria-label={props.label} class="tablist" onKeyDown={onKeyDown}>
        {props.tabs.map((t) => (
          <button
            type="button"
            role="tab"
            key={t.id}
            id={`${props.idPrefix}-tab-${t.id}`}
            aria-selected={t.id === selected}
            aria-controls={`${props.idPrefix}-panel-${t.id}`}
            tabIndex={t.id === selected ? 0 : -1}
            ref={(el) => {
              refs.current[t.id] = el;
            }}
            onClick={() => setSelected(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id={`${props.idPrefix}-panel-${current.id}`}
        aria-labelledby={`${props.idPrefix}-tab-${current.id}`}
        class="tabpanel"
      >
        {current.render()}
      </div>
    </div>
  );
}
