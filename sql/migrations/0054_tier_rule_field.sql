-- Tier rules match a VM's resource pool or its tags (issue 22): `field` says which. A tag
-- rule matches a VM-day when one of the VM's tags as they were at its last sample that day
-- (the labels of its configuration then, vm_config_history) matches. docs/chargeback.md.
alter table tier_rules add column field text not null default 'pool'
  check (field in ('pool', 'tag'));

-- cost_month_lines gains p_tags (sql/routines/cost_month_lines.sql): the four-argument one goes.
drop function if exists cost_month_lines(integer, date, date, bigint);
