"""Model files of format 5 and older: their decoder output values directly and generation added
a residual process fitted to the stored training residual windows (``observation.py``) and a
linear map fitted to the decoded means (``mean_calibration.py``). Such files still load and
generate as they did; new models draw every value from the network's own likelihood and
never use this package.
"""
