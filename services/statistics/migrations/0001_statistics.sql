-- statistics keeps no table of its own: its figures are faust tables in Kafka (stream.py). Its
-- database holds the kit's audit trail of who read them (the kit's view tables stay empty).
SELECT 1;
