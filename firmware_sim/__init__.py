"""Reference firmware of the open ankle-sensor profile and a model of a sleeping leg."""
