-- p / q rounded half up to 6 decimals, for p >= 0 and q > 0, in exact integer arithmetic:
-- floor((2·p·10⁶ + q) / (2·q)) · 10⁻⁶. Plain `round(p / q, 6)` would round twice (numeric
-- division first rounds to its own scale), which can differ in the last digit; this form
-- is what server/aggregate/numeric.ts reproduces with BigInt. A one-expression SQL
-- function, so the planner inlines it.
create or replace function rollup_ratio(p numeric, q numeric)
returns numeric
language sql
immutable
parallel safe
as $$
  select div(2 * p * 1000000 + q, 2 * q) * 0.000001
$$;
