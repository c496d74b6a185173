"""Synthetic microstructures with known physics: random two-phase fields and the built-in demo set."""

from .fields import hashin_shtrikman_lower, hashin_shtrikman_upper, interface_density, two_phase

__all__ = ["two_phase", "interface_density", "hashin_shtrikman_upper", "hashin_shtrikman_lower"]
