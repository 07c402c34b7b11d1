"""Result schemas given as a JSON schema dict or a pydantic model class."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel


@dataclass(frozen=True)
class ResultSchema:
    """A result contract: its JSON schema, and the pydantic model it came from (if any).

    :param json_schema: the JSON schema sent to the service.
    :param model: the pydantic model class, when the user gave one.
    """

    json_schema: dict[str, Any]
    model: type[BaseModel] | None = None

    @classmethod
    def from_argument(cls, value: Any, argument: str = "result_schema") -> ResultSchema | None:
        """Accept ``None``, a JSON schema mapping or a pydantic ``BaseModel`` subclass."""
        from airflow_provider_runs.hooks.inferable import check_result_schema

        if value is None:
            return None
        if isinstance(value, type):
            from pydantic import BaseModel

            if not issubclass(value, BaseModel):
                raise ValueError(f"{argument} class {value.__name__} is not a pydantic BaseModel subclass")
            schema = value.model_json_schema()
            check_result_schema(schema, argument)
            return cls(schema, value)
        if isinstance(value, Mapping):
            check_result_schema(value, argument)
            return cls(dict(value))
        raise ValueError(
            f"{argument} must be a JSON schema dict or a pydantic model class; got {type(value).__name__}"
        )

    def errors(self, result: Any) -> list[str]:
        """Validation errors of ``result`` (empty when it conforms)."""
        if result is None:
            return ["the run finished without a result"]
        if self.model is not None:
            from pydantic import ValidationError

            try:
                self.model.model_validate(result)
            except ValidationError as exc:
                return [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()]
            return []
        from jsonschema import Draft202012Validator

        validator = Draft202012Validator(self.json_schema)
        return [
            f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in sorted(validator.iter_errors(result), key=lambda e: list(e.absolute_path))
        ]

    def to_xcom(self, result: Any) -> Any:
        """The validated result as JSON data (a model's ``model_dump(mode="json")``)."""
        if self.model is not None:
            return self.model.model_validate(result).model_dump(mode="json")
        return result
