-- Tier rules match a VM's resource pool or its tags (issue 22): `field` says which. A tag
-- rule matches a VM-day when one of the VM's tags as they were at its last sample that day
-- (the labels of its configuration then, vm_config_history) matches. docs/chargeback.md.
alter table tier_rules add column field text not null default 'pool'
  check (field in ('pool', 'tag'));
