"""The domain of salesbot: no Slack, no HTTP, no clock of its own (`now` is passed in).

Packages, each above the ones it uses (never one that uses it back):
  workspace  setup, teams and roles, users and permissions          uses: the kernel
  deals      deals, queries, stage flow, CSV import and export      uses: workspace
  insight    KPIs, quotas, forecast, backtest, digest figures       uses: deals, workspace
  notify     reminders, nudges, the outbox, local time, the digest  uses: insight, deals, workspace
  leads      intake, CSV, events, rules, scoring, routing, alerts   uses: notify, deals, workspace
The kernel beside them: db (engine, unit of work), tables, money, dates, errors, csv_mapping.
"""
