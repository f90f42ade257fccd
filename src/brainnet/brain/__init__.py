"""brainnet.brain: brain-inspired networks on the pipeline's contracts.

Spiking neurons (``neurons.py``: LIF, ALIF), surrogate gradients (``surrogates.py``), spike encoders
(``encoders.py``), the spiking models ``snn_mlp`` and ``snn_cnn`` (``models.py``) and their activity
(``activity.py``: firing rates, silent neurons, synaptic operations). ``registry.py`` lists every neuron,
surrogate, encoder and spiking model by name without importing torch; the modules that define them do.
"""
