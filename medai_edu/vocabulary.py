"""Words that every layer shares, kept at the bottom so that a model need not import the data
package to name its inputs."""

#: The three breast MRI inputs MOME reads, in its order: dynamic contrast-enhanced
#: (DCE), T2-weighted and diffusion-weighted (DWI, with its ADC map) images.
MRI_SEQUENCES = ("dce", "t2", "dwi")
