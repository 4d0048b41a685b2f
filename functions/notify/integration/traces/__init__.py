"""The traces table, its one owner: keys in `keys`, a store per concern.

`claims` (a trace's header: which execution runs it, its schedule, how its run ends),
`attempts` (a recipient's send-once record), `outcomes` (what Record writes),
`deliveries` (providers' delivery statuses), `reads` (the status API's and the CLI's
reads), `runs` (what the reconciler needs of all of them). Each function builds only
the stores it uses.
"""
