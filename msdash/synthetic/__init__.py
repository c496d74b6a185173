"""Synthetic microstructures with known physics: random two-phase fields, the demo set, Ising and
Cahn–Hilliard snapshots, and FFT homogenisation of periodic two-phase cells."""

from .cahn_hilliard import cahn_hilliard, cahn_hilliard_dataset
from .cahn_hilliard import free_energy as cahn_hilliard_energy
from .fields import hashin_shtrikman_lower, hashin_shtrikman_upper, interface_density, two_phase
from .bounds import voigt_reuss_modulus_x
from .homogenisation import effective_conductivity, effective_stiffness, youngs_modulus_x
from .ising import TC, ising, ising_dataset, onsager_magnetisation

__all__ = ["two_phase", "interface_density", "hashin_shtrikman_upper", "hashin_shtrikman_lower",
           "ising", "ising_dataset", "TC", "onsager_magnetisation",
           "cahn_hilliard", "cahn_hilliard_dataset", "cahn_hilliard_energy",
           "effective_stiffness", "effective_conductivity", "youngs_modulus_x", "voigt_reuss_modulus_x"]
