"""The model: Kubernetes objects and the network state Linux and Kubernetes derive from them."""
