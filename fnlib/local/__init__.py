"""The local deployment: the embedded stack (:mod:`.stack`), its cluster mode
(:mod:`.cluster`), the persistent S3 server (:mod:`.moto_persistent`), the REST client of
Airflow's API (:mod:`.airflow_api`) and the end-to-end demo (:mod:`.demo`)."""
