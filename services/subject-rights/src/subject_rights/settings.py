from privacy_kit.settings import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "subject-rights"
    answer_within_days: int = 28  # O21: four weeks
