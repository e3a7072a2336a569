from functools import cached_property
from typing import Annotated

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Depends
from pydantic import model_validator

from privacy_kit.app import settings_dependency
from privacy_kit.settings import MIN_SECRET_BYTES, STORES, ServiceSettings, weak_secret
from retention import keys

DEV_CERTIFICATE_SECRET = "privacy-suite-development-certificate-key"


class Settings(ServiceSettings):
    service_name: str = "retention"
    # Keys the HMAC of subject ids in certificates (whoever holds the key and an id can check
    # that a certificate is about that id; the certificate alone names no one).
    certificate_secret: str = DEV_CERTIFICATE_SECRET
    # Signs every certificate (Ed25519): a PEM private key, or base64 of the 32-byte raw key.
    # The public half is served at GET /v1/erasure-certificates/public-key.
    certificate_signing_key: str = keys.DEV_SIGNING_KEY
    # Encrypts the subject id kept in the erasure replay log (Fernet key, urlsafe base64 of
    # 32 bytes), so that an erasure can be applied again after a store's backup is restored.
    replay_key: str = keys.DEV_REPLAY_KEY
    # How long the replay log keeps the encrypted id: at least as long as the oldest backup
    # of any store that could be restored. Afterwards only the hash remains.
    replay_window_days: int = 35
    # The stores every erasure must reach (O25), whether or not they have announced their
    # inventory yet: a store not heard from is waited for, never silently left out.
    expected_stores: list[str] = list(STORES)
    # A store that has not acknowledged by then makes its job `stuck`; it is asked again.
    erasure_deadline_s: int = 15 * 60
    # Stores that have not answered are asked again this long after the request, then after
    # twice as long each time, up to the longest pause: a lost acknowledgement costs seconds.
    erasure_reemit_after_s: float = 10.0
    erasure_reemit_max_pause_s: float = 300.0
    overdue_sweep_interval_s: float = 2.0
    # Retention sweeps (O15): one dry run every this many seconds (0: only on demand).
    retention_sweep_interval_s: float = 24 * 3600
    # Contract termination (O18): erased this long after the contract's end date.
    termination_grace_s: float = 30 * 24 * 3600
    termination_sweep_interval_s: float = 60.0
    # A tenant export can be downloaded this long after it is ready, then it is deleted.
    tenant_export_ttl_s: float = 7 * 24 * 3600
    # An export still being gathered after this long is given up (e.g. the process restarted).
    tenant_export_timeout_s: float = 3600.0

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        return keys.load_private_key(self.certificate_signing_key)

    @cached_property
    def replay_cipher(self) -> Fernet:
        return keys.load_replay_key(self.replay_key)

    @cached_property
    def proof_keys(self) -> keys.ProofKeys:
        return keys.ProofKeys(signing_key=self.signing_key, replay_cipher=self.replay_cipher)

    @model_validator(mode="after")
    def _refuse_development_keys(self) -> "Settings":
        self.signing_key  # noqa: B018 -- a malformed key fails at start, not at the first job
        self.replay_cipher  # noqa: B018
        if self.environment == "production":
            refused = [name for name, value, dev in (
                ("CERTIFICATE_SIGNING_KEY", self.certificate_signing_key, keys.DEV_SIGNING_KEY),
                ("CERTIFICATE_SECRET", self.certificate_secret, DEV_CERTIFICATE_SECRET),
                ("REPLAY_KEY", self.replay_key, keys.DEV_REPLAY_KEY),
            ) if value == dev]
            if refused:
                raise ValueError(
                    f"production refuses the development key(s): set {', '.join(refused)}"
                )
        return self

    @model_validator(mode="after")
    def _refuse_development_certificate_key(self) -> "Settings":
        if self.environment == "production" and (
            reason := weak_secret(self.certificate_secret, (DEV_CERTIFICATE_SECRET,))
        ):
            raise ValueError(
                f"production refuses this CERTIFICATE_SECRET: it {reason}; anyone could forge "
                f"certificates with it. Set a random secret of at least {MIN_SECRET_BYTES} bytes."
            )
        return self


SettingsDep = Annotated[Settings, Depends(settings_dependency(Settings))]
