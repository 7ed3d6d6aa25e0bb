"""Encoders and decoders as plain ``nn.Module``s, registered by architecture name."""

from tsvae.nn.conv import ConvDecoder, ConvEncoder
from tsvae.nn.lstm import LSTMDecoder, LSTMEncoder

#: name -> (encoder class, decoder class); every pair shares one constructor signature.
ARCHITECTURES = {
    "lstm": (LSTMEncoder, LSTMDecoder),
    "conv": (ConvEncoder, ConvDecoder),
}

__all__ = ["ARCHITECTURES", "ConvDecoder", "ConvEncoder", "LSTMDecoder", "LSTMEncoder"]
