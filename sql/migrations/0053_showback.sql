-- Showback (issue 22, part B; docs/chargeback.md): where a VM's owner is read from, and the
-- monthly chargeback workbook as a report kind (period YYYY-MM).
--
-- owner_from 'attribute': the value of the VM's custom attribute `owner_name` (inventory tags
--   hold attributes as "name=value");
-- owner_from 'tag_category': the name of the VM's vSphere tag in category `owner_name` (the
--   labels of its current configuration).
create table cost_settings (
  id          integer     primary key default 1 check (id = 1),
  owner_from  text        not null default 'attribute' check (owner_from in ('attribute', 'tag_category')),
  owner_name  text        not null default 'Owner' check (length(owner_name) between 1 and 256),
  updated_at  timestamptz not null default now()
);
insert into cost_settings default values;

alter table reports drop constraint reports_kind_check;
alter table reports add constraint reports_kind_check
  check (kind in ('daily', 'monthly', 'inventory', 'rvtools', 'chargeback'));
