-- Alerts (server/alerts/): rules that watch what the ledger already stores, one alert per
-- (rule, object) with a lifecycle, silences; and the events notifications are sent for
-- (server/notifications/).
--
-- An alert is pending while its condition holds for less than the rule's `for` duration,
-- firing after, acknowledged when a person says they are on it, resolved when the
-- condition cleared (hysteresis: the rule's clear level, not its fire level). A resolved
-- alert is history; the same (rule, object) firing again opens a new alert.

-- The rules and their defaults. `params` holds the rule's thresholds (fire and clear levels,
-- `forMinutes`, counts, days); the keys each rule reads are documented in
-- server/alerts/rules.ts, which also installs the default rows.
create table alert_rules (
  id          text        primary key,
  name        text        not null,
  description text        not null,
  severity    text        not null check (severity in ('critical', 'warning', 'info')),
  enabled     boolean     not null default true,
  params      jsonb       not null default '{}',
  updated_at  timestamptz not null default now(),
  updated_by  text
);

-- Thresholds for part of the estate: a source, a cluster, a datastore or a VM tag. The most
-- specific override of a rule wins (datastore/cluster/tag, then source, then the rule).
create table alert_rule_overrides (
  rule_id     text        not null references alert_rules (id) on delete cascade,
  scope_kind  text        not null check (scope_kind in ('source', 'cluster', 'datastore', 'tag')),
  scope_value text        not null,
  enabled     boolean,
  params      jsonb       not null default '{}',
  updated_at  timestamptz not null default now(),
  updated_by  text,
  primary key (rule_id, scope_kind, scope_value)
);

create table alerts (
  id               bigint      generated always as identity primary key,
  rule_id          text        not null references alert_rules (id),
  -- What the alert is about: agent, source, host, datastore, vm, job.
  object_kind      text        not null,
  -- Stable within the kind (e.g. '<source id>:<host name>'); object_name is for people.
  object_key       text        not null,
  object_name      text        not null,
  source_id        integer     references sources (id),
  -- What notifications group by: 200 VMs powered off by one failed host share its key.
  group_key        text        not null,
  severity         text        not null check (severity in ('critical', 'warning', 'info')),
  state            text        not null check (state in ('pending', 'firing', 'acknowledged', 'resolved')),
  summary          text        not null,
  details          jsonb       not null default '{}',
  pending_since    timestamptz not null,
  fired_at         timestamptz,
  acknowledged_at  timestamptz,
  acknowledged_by  text,
  ack_note         text,
  resolved_at      timestamptz,
  -- Under a silence or maintenance window now: still tracked, not notified.
  silenced         boolean     not null default false,
  last_evaluated_at timestamptz not null
);
-- One open alert per (rule, object), whichever node evaluates.
create unique index alerts_one_open on alerts (rule_id, object_kind, object_key) where state <> 'resolved';
create index alerts_open_by_state on alerts (state, severity) where state <> 'resolved';
create index alerts_resolved_at on alerts (resolved_at) where state = 'resolved';

-- Each alert's timeline; notifications are sent for fired, acknowledged and resolved.
create table alert_events (
  id        bigint      generated always as identity primary key,
  alert_id  bigint      not null references alerts (id) on delete cascade,
  at        timestamptz not null default now(),
  kind      text        not null check (kind in ('pending', 'fired', 'acknowledged', 'resolved',
                                                 'silenced', 'unsilenced', 'note')),
  actor     text,
  note      text,
  details   jsonb       not null default '{}'
);
create index alert_events_alert on alert_events (alert_id, at);

-- Silences and maintenance windows: alerts matching every given matcher (null = any) are not
-- notified between starts_at and ends_at.
create table alert_silences (
  id          bigint      generated always as identity primary key,
  starts_at   timestamptz not null,
  ends_at     timestamptz not null check (ends_at > starts_at),
  rule_id     text        references alert_rules (id) on delete cascade,
  source_id   integer     references sources (id) on delete cascade,
  object_kind text,
  object_key  text,
  maintenance boolean     not null default false,
  comment     text        not null,
  created_by  text        not null,
  created_at  timestamptz not null default now()
);
create index alert_silences_active on alert_silences (ends_at, starts_at);
