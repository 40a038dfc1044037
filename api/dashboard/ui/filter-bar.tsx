import { useEffect, useState } from 'preact/hooks';
import type { ApiFailure } from './api.ts';
import { type DropdownField, dropdownValue, setDropdown } from './filter-parts.ts';

const DROPDOWNS: Array<{ field: DropdownField; label: string; options: Array<[string, string]> }> =
  [
    {
      field: 'type',
      label: 'Type',
      options: ['role', 'user', 'group', 'service-account', 'domain', 'public', 'federated'].map(
        (v) => [v, v],
      ),
    },
    {
      field: 'status',
      label: 'Status',
      options: ['active', 'dormant', 'new', 'no-coverage'].map((v) => [v, v]),
    },
    {
      field: 'tier',
      label: 'Tier',
      options: ['Critical', 'High', 'Medium', 'Low'].map((v) => [v, v]),
    },
    {
      field: 'cloud',
      label: 'Cloud',
      options: [
        ['aws', 'AWS'],
        ['gcp', 'GCP'],
      ],
    },
    {
      field: 'ignored',
      label: 'Ignored',
      options: [
        ['false', 'Not ignored'],
        ['true', 'Ignored only'],
      ],
    },
  ];

const EXAMPLES = [
  'tier >= "high" and last_used < "90d"',
  'unused_level >= "IAM" and ignored = false',
  'principal contains "admin" or owner = "team-a"',
];

/**
 * The filter box (the filter language, applied on Enter) and dropdowns that edit it. A filter
 * the server refuses is shown with its message and a marker at the position it names; the
 * table keeps the last good answer meanwhile.
 */
export function FilterBar(props: {
  filter: string;
  error: ApiFailure | null;
  onApply: (filter: string) => void;
  onClearError: () => void;
}) {
  const [draft, setDraft] = useState(props.filter);
  useEffect(() => setDraft(props.filter), [props.filter]);

  const errorId = 'filter-error';
  const shown = props.error ? draft : '';
  const position = Math.min(props.error?.position ?? 0, shown.length);

  return (
    <div class="filters">
      <form
        class="filter-form"
        onSubmit={(e) => {
          e.preventDefault();
          props.onApply(draft);
        }}
      >
        <label for="filter-input" class="filter-label">
          Filter
        </label>
        <input
          id="filter-input"
          type="text"
          spellcheck={false}
          autocomplete="off"
          list="filter-examples"
          value={draft}
          placeholder='Press / to filter, e.g. tier >= "high" and last_used < "90d"'
          aria-invalid={props.error !== null}
          aria-describedby={props.error ? errorId : undefined}
          onInput={(e) => {
            setDraft(e.currentTarget.value);
            if (props.error) props.onClearError();
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && draft !== props.filter) {
              // Handled here: the details panel must not close on this Escape.
              e.preventDefault();
              setDraft(props.filter);
              props.onClearError();
            }
          }}
        />
        <datalist id="filter-examples">
          {EXAMPLES.map((x) => (
            <option key={x} value={x} />
          ))}
        </datalist>
        <button type="submit" class="primary">
          Apply
        </button>
        <button
          type="button"
          disabled={props.filter === '' && draft === ''}
          onClick={() => {
            setDraft('');
            props.onApply('');
          }}
        >
          Clear
        </button>
      </form>
      {props.error ? (
        <div id={errorId} class="filter-error" role="alert">
          <p>{props.error.message}</p>
          {shown ? (
            <pre class="filter-marker" aria-hidden="true">
              {shown.slice(0, position)}
              <mark>{shown.slice(position, position + 1) || ' '}</mark>
              {shown.slice(position + 1)}
            </pre>
          ) : null}
          {props.error.expected?.length ? (
            <p class="muted">Expected: {props.error.expected.join(', ')}</p>
          ) : null}
        </div>
      ) : null}
      <div class="dropdowns">
        {DROPDOWNS.map((d) => {
          const current = dropdownValue(props.filter, d.field);
          const match = d.options.find(([v]) => v.toLowerCase() === current?.toLowerCase());
          const options =
            match || current === null ? d.options : [...d.options, [current, current]];
          return (
            <label key={d.field}>
              {d.label}
              <select
                data-field={d.field}
                value={match ? match[0] : (current ?? '')}
                onChange={(e) =>
                  props.onApply(setDropdown(props.filter, d.field, e.currentTarget.value || null))
                }
              >
                <option value="">Any</option>
                {options.map(([v, label]) => (
                  <option key={v} value={v}>
                    {label}
                  </option>
                ))}
              </select>
            </label>
          );
        })}
      </div>
    </div>
  );
}
