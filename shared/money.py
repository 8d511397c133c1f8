"""Money: Decimal amounts held to the minor unit of their ISO 4217 currency, never floats."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, model_validator

_ZERO_DECIMAL = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMAL = "BHD IQD JOD KWD LYD OMR TND"
_FOUR_DECIMAL = "CLF UYW"
_TWO_DECIMAL = (
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP "
    "GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT "
    "LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN "
    "NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE "
    "SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES "
    "WST XCD XCG YER ZAR ZMW ZWG"
)

MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMAL.split(), 2),
    **dict.fromkeys(_ZERO_DECIMAL.split(), 0),
    **dict.fromkeys(_THREE_DECIMAL.split(), 3),
    **dict.fromkeys(_FOUR_DECIMAL.split(), 4),
}
"""Active ISO 4217 currency codes and how many decimal places their minor unit has."""


def check_currency(code: str) -> str:
    if code not in MINOR_UNITS:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code (for example EUR, USD, JPY)")
    return code


Currency = Annotated[str, AfterValidator(check_currency)]


def to_minor_units(amount: Decimal | int | str, currency: str) -> Decimal:
    """The amount as a Decimal at exactly the currency's precision.

    More precision than the currency has is refused rather than rounded: silently moving a
    fraction of a cent is how ledgers stop balancing. Raises ValueError with the reason, which
    pydantic reports against the field being validated.
    """
    if isinstance(amount, float):
        raise ValueError("must be a decimal string or integer, not a binary float")
    try:
        value = Decimal(amount)
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"{amount!r} is not a number") from None
    if not value.is_finite():
        raise ValueError("must be a finite number")
    places = MINOR_UNITS[check_currency(currency)]
    quantized = value.quantize(Decimal(1).scaleb(-places))
    if quantized != value:
        raise ValueError(f"{currency} amounts have at most {places} decimal places")
    return quantized


def amount_in_currency(value: Decimal | None, info: ValidationInfo) -> Decimal | None:
    """Field validator body: quantize an amount to the currency validated before it.

    When the currency itself was invalid it is absent here and its own error is reported.
    """
    currency = info.data.get("currency")
    if value is None or currency is None:
        return value
    return to_minor_units(value, currency)


def zero(currency: str) -> Decimal:
    return to_minor_units(0, currency)


class Money(BaseModel):
    """An amount in one currency; arithmetic refuses to mix currencies."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal
    currency: Currency

    @model_validator(mode="before")
    @classmethod
    def _quantize(cls, data: Any) -> Any:
        if isinstance(data, dict) and "currency" in data and "amount" in data:
            currency = check_currency(str(data["currency"]))
            return {**data, "amount": to_minor_units(data["amount"], currency)}
        return data

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        return cls(amount=to_minor_units(amount, currency), currency=currency)

    def __add__(self, other: Money) -> Money:
        return Money(amount=self.amount + self._same_currency(other), currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(amount=self.amount - self._same_currency(other), currency=self.currency)

    def __str__(self) -> str:
        return f"{self.amount:,} {self.currency}"

    def _same_currency(self, other: Money) -> Decimal:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")
        return other.amount
