"""CPU models: Unicorn cores with the exception entry and walkers Unicorn leaves to us."""
