"""Settings: the service's own prefix wins over the shared TSUNAGU_ one, then defaults."""

import pytest
from pydantic import ValidationError

from kit.kafka import connection
from kit.settings import load_settings


def test_prefix_then_shared_then_default() -> None:
    env = {"REFERRAL_KAFKA_BOOTSTRAP": "own:9092", "TSUNAGU_KAFKA_BOOTSTRAP": "shared:9092",
           "TSUNAGU_MUNICIPALITY_CODE": "132012", "INTAKE_LOG_LEVEL": "DEBUG"}
    s = load_settings("referral", env)
    assert s.kafka_bootstrap == "own:9092"
    assert s.municipality_code == "132012"
    assert s.log_level == "INFO"  # another service's setting does not leak in
    assert s.database_url.endswith("/tsunagu_referral")


def test_bad_municipality_code_is_refused() -> None:
    with pytest.raises(ValidationError):
        load_settings("intake", {"TSUNAGU_MUNICIPALITY_CODE": "Fussa"})


def test_kafka_credentials_come_from_settings_and_stay_secret() -> None:
    s = load_settings("intake", {"INTAKE_KAFKA_PASSWORD": "s3cret-pw",
                                 "TSUNAGU_KAFKA_PASSWORD": "shared-pw"})
    assert "s3cret-pw" not in repr(s)  # never in a log line of the settings
    client = connection(s)
    assert client["security_protocol"] == "SASL_SSL"  # the only protocol the kit speaks
    assert client["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (client["sasl_plain_username"], client["sasl_plain_password"]) == ("intake", "s3cret-pw")
    assert client["ssl_context"].check_hostname


def test_a_service_without_a_kafka_password_is_refused() -> None:
    with pytest.raises(RuntimeError, match="INTAKE_KAFKA_PASSWORD"):
        connection(load_settings("intake", {}))
