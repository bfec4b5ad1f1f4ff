"""The hub's messaging routes: thin HTTP faces over `hub.ingest`, `hub.inbox`, `hub.statuses`…"""
