"""Online adaptation: production agents' reported episodes become demonstrations, without labels.

`policy` says per dataset whether episodes are accepted and how they are treated; `redact` removes secrets
before anything is stored; `episode` validates a report; `learner` is each dataset's continuous online job
(journal, backward construction, committee, de-duplication, ingest, retention); `service` is the gRPC API.
"""
