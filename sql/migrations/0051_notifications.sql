-- Notifications (server/notifications/): where alert events are sent (channels), which rules
-- and severities go where (routes), the events routed and waiting to be grouped (items), and
-- each message sent or being sent (notifications, with its delivery state).
--
-- The flow: an alert event (fired, acknowledged, resolved: 0049_alerts.sql) is routed once
-- (notification_routed) into one item per matching route; the items of one (route, rule,
-- group key, kind) become one notification (grouping); a pg-boss job delivers it, retrying
-- with backoff, and after the last attempt it is `dead` until someone retries it.

create table notification_channels (
  id          bigint      generated always as identity primary key,
  name        text        not null unique check (length(name) between 1 and 100),
  kind        text        not null check (kind in ('webhook', 'slack', 'teams', 'email')),
  enabled     boolean     not null default true,
  -- What is not secret: url (webhook, slack, teams); host, port, tls, user, from, to, ca (email).
  config      jsonb       not null default '{}',
  -- The webhook's signing secret or the SMTP password; written, never read back by the API.
  secret      text,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  updated_by  text
);

-- A route sends the events of one rule (or of every rule: null) at or above a severity to a
-- channel. group_wait: events of one group within this many seconds after a notification of
-- the group are held and sent together; repeat: an alert still firing is notified again
-- after this many seconds.
create table notification_routes (
  id                bigint      generated always as identity primary key,
  channel_id        bigint      not null references notification_channels (id) on delete cascade,
  rule_id           text        references alert_rules (id) on delete cascade,
  min_severity      text        not null default 'info'
                                check (min_severity in ('critical', 'warning', 'info')),
  group_wait_seconds integer    not null default 30 check (group_wait_seconds between 0 and 3600),
  repeat_seconds    integer     not null default 14400 check (repeat_seconds between 60 and 604800),
  enabled           boolean     not null default true,
  created_at        timestamptz not null default now()
);
create index notification_routes_channel on notification_routes (channel_id);

-- Events already routed (whether or not a route matched): the sweep routes the rest.
create table notification_routed (
  event_id  bigint      primary key references alert_events (id) on delete cascade,
  routed_at timestamptz not null default now()
);

-- A message: one route's events of one (rule, group key, kind), or a channel test.
-- Its id is the delivery id receivers dedupe on (the same on every attempt).
create table notifications (
  id            uuid        primary key default gen_random_uuid(),
  channel_id    bigint      not null references notification_channels (id) on delete cascade,
  route_id      bigint      references notification_routes (id) on delete set null,
  rule_id       text,
  group_key     text,
  kind          text        not null check (kind in ('fired', 'acknowledged', 'resolved', 'repeat', 'test')),
  state         text        not null default 'pending'
                            check (state in ('pending', 'retrying', 'delivered', 'dead')),
  attempts      integer     not null default 0,
  last_error    text,
  created_at    timestamptz not null default now(),
  last_attempt_at timestamptz,
  delivered_at  timestamptz
);
create index notifications_created on notifications (created_at desc);
create index notifications_state on notifications (state) where state <> 'delivered';
create index notifications_group on notifications (route_id, rule_id, group_key, kind, created_at);

-- An alert to be told about on a route: from an event (fired, acknowledged, resolved) or a
-- repeat of one still firing; notification_id is null until its group is sent.
create table notification_items (
  id              bigint      generated always as identity primary key,
  route_id        bigint      not null references notification_routes (id) on delete cascade,
  alert_id        bigint      not null references alerts (id) on delete cascade,
  event_id        bigint      references alert_events (id) on delete cascade,
  kind            text        not null check (kind in ('fired', 'acknowledged', 'resolved', 'repeat')),
  rule_id         text        not null,
  group_key       text        not null,
  created_at      timestamptz not null default now(),
  notification_id uuid        references notifications (id) on delete cascade
);
create unique index notification_items_once on notification_items (event_id, route_id);
create index notification_items_pending on notification_items (route_id, rule_id, group_key, kind)
  where notification_id is null;
create index notification_items_notification on notification_items (notification_id);
create index notification_items_alert on notification_items (route_id, alert_id, created_at);
