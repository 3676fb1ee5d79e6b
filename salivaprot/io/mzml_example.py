# ruff: noqa: E501  (XML templates read best one element per line)
"""Write a synthetic, deterministic DDA run as indexed mzML (tests, examples, benchmarks).

The run imitates a data-dependent Orbitrap acquisition: a cycle of one MS1
spectrum followed by ``ms2_per_ms1`` MS2 spectra, scan start times spread
evenly over ``minutes``, zlib-compressed 64-bit peak arrays, ion injection
times, precursor charges (a share of them unknown), instrument model, a
``referenceableParamGroup`` and an index with a SHA-1 file checksum.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import zlib
from pathlib import Path
from typing import IO, Any

import numpy as np

from salivaprot.io._files import PathLike

__all__ = ["write_example_mzml"]

_HEADER = """<?xml version="1.0" encoding="utf-8"?>
<indexedmzML xmlns="http://psi.hupo.org/ms/mzml" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://psi.hupo.org/ms/mzml http://psidev.info/files/ms/mzML/xsd/mzML1.1.2_idx.xsd">
  <mzML xmlns="http://psi.hupo.org/ms/mzml" id="{run}" version="1.1.0">
    <cvList count="2">
      <cv id="MS" fullName="Proteomics Standards Initiative Mass Spectrometry Ontology" version="4.1.30" URI="https://raw.githubusercontent.com/HUPO-PSI/psi-ms-CV/master/psi-ms.obo"/>
      <cv id="UO" fullName="Unit Ontology" version="09:04:2014" URI="https://raw.githubusercontent.com/bio-ontology-research-group/unit-ontology/master/unit.obo"/>
    </cvList>
    <fileDescription>
      <fileContent>
        <cvParam cvRef="MS" accession="MS:1000579" name="MS1 spectrum" value=""/>
        <cvParam cvRef="MS" accession="MS:1000580" name="MSn spectrum" value=""/>
      </fileContent>
    </fileDescription>
    <referenceableParamGroupList count="1">
      <referenceableParamGroup id="CommonInstrumentParams">
        <cvParam cvRef="MS" accession="MS:1001911" name="Q Exactive" value=""/>
        <cvParam cvRef="MS" accession="MS:1000529" name="instrument serial number" value="Exactive Series slot #1"/>
      </referenceableParamGroup>
    </referenceableParamGroupList>
    <softwareList count="1">
      <software id="salivaprot" version="synthetic">
        <cvParam cvRef="MS" accession="MS:1000799" name="custom unreleased software tool" value="salivaprot"/>
      </software>
    </softwareList>
    <instrumentConfigurationList count="1">
      <instrumentConfiguration id="IC1">
        <referenceableParamGroupRef ref="CommonInstrumentParams"/>
        <componentList count="3">
          <source order="1"><cvParam cvRef="MS" accession="MS:1000398" name="nanoelectrospray" value=""/></source>
          <analyzer order="2"><cvParam cvRef="MS" accession="MS:1000484" name="orbitrap" value=""/></analyzer>
          <detector order="3"><cvParam cvRef="MS" accession="MS:1000624" name="inductive detector" value=""/></detector>
        </componentList>
      </instrumentConfiguration>
    </instrumentConfigurationList>
    <dataProcessingList count="1">
      <dataProcessing id="synthetic">
        <processingMethod order="0" softwareRef="salivaprot">
          <cvParam cvRef="MS" accession="MS:1000544" name="Conversion to mzML" value=""/>
        </processingMethod>
      </dataProcessing>
    </dataProcessingList>
    <run id="{run}" defaultInstrumentConfigurationRef="IC1" startTimeStamp="2026-03-02T09:15:00Z">
      <spectrumList count="{count}" defaultDataProcessingRef="synthetic">
"""

_ARRAY = """            <binaryDataArray encodedLength="{length}">
              <cvParam cvRef="MS" accession="MS:1000523" name="64-bit float" value=""/>
              <cvParam cvRef="MS" accession="{compression}" name="{compression_name}" value=""/>
              <cvParam cvRef="MS" accession="{kind}" name="{kind_name}" value="" unitCvRef="MS" unitAccession="{unit}" unitName="{unit_name}"/>
              <binary>{data}</binary>
            </binaryDataArray>
"""


class _Out:
    """Counts bytes and hashes them (SHA-1, for the mzML file checksum)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle, self.offset, self.sha1 = handle, 0, hashlib.sha1()

    def write(self, text: str) -> None:
        data = text.encode("utf-8")
        self.handle.write(data)
        self.sha1.update(data)
        self.offset += len(data)


def _encode(values: np.ndarray, compress: bool) -> str:
    raw = values.astype("<f8").tobytes()
    return base64.b64encode(zlib.compress(raw, 1) if compress else raw).decode("ascii")


def write_example_mzml(
    path: PathLike,
    *,
    n_spectra: int = 64,
    ms2_per_ms1: int = 15,
    ms1_peaks: int = 2000,
    ms2_peaks: int = 300,
    minutes: float = 60.0,
    unknown_charge: float = 0.1,
    seed: int = 0,
    compress: bool = True,
    time_unit: str = "minute",
    with_tic: bool = True,
    gz: bool = False,
    intensity_scale: float = 1.0,
) -> Path:
    """Write a deterministic synthetic DDA run as indexed mzML 1.1.

    Parameters
    ----------
    path : str or path-like
        The file to write (gzip-compressed when ``gz``).
    n_spectra : int
        Spectra in all (MS1 and MS2).
    ms2_per_ms1 : int
        MS2 spectra after each MS1 spectrum.
    ms1_peaks, ms2_peaks : int
        Peaks per MS1 / MS2 spectrum (the counts vary by up to 10% around these).
    minutes : float
        Length of the run; scan start times are spread evenly over it.
    unknown_charge : float
        Share of MS2 spectra without a precursor charge.
    seed : int
        Seed of the random peaks, injection times and charges.
    compress : bool
        zlib-compress the peak arrays.
    time_unit : {"minute", "second"}
        Unit of the scan start times written.
    with_tic : bool
        Write the total ion current and base peak cvParams (else readers must
        compute them from the arrays).
    gz : bool
        gzip the whole file.
    intensity_scale : float
        Multiplies every intensity (a weak or overloaded run).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_example_mzml(folder / "run.mzML", n_spectra=32).stat().st_size > 0
    True
    """
    rng = np.random.default_rng(seed)
    target = Path(path)
    run = target.name.split(".")[0]
    cycle = ms2_per_ms1 + 1
    offsets: list[tuple[str, int]] = []

    def opener(name: Path, mode: str) -> Any:
        # gzip without a time stamp: the same arguments give the same bytes
        return gzip.GzipFile(name, mode, mtime=0) if gz else open(name, mode)

    with opener(target, "wb") as handle:
        out = _Out(handle)
        out.write(_HEADER.format(run=run, count=n_spectra))
        precursor_mz = 500.0
        for index in range(n_spectra):
            level = 1 if index % cycle == 0 else 2
            nominal = ms1_peaks if level == 1 else ms2_peaks
            peaks = int(nominal * rng.uniform(0.9, 1.1))
            low, high = (350.0, 1800.0) if level == 1 else (110.0, 2000.0)
            mz = np.sort(rng.uniform(low, high, peaks))
            elution = np.exp(-(((index / max(n_spectra, 1)) - 0.5) ** 2) / 0.08)
            intensity = rng.lognormal(10.0, 1.5, peaks) * (0.2 + elution) * intensity_scale
            if level == 2:
                intensity /= 50.0
            tic = float(intensity.sum())
            top = int(np.argmax(intensity)) if peaks else 0
            rt = minutes * index / max(n_spectra - 1, 1)
            rt_value = rt * 60.0 if time_unit == "second" else rt
            unit = ("UO:0000010", "second") if time_unit == "second" else ("UO:0000031", "minute")
            iit = float(rng.gamma(2.0, 10.0 if level == 1 else 25.0))
            ident = f"controllerType=0 controllerNumber=1 scan={index + 1}"
            offsets.append((ident, out.offset + 8))
            parts = [
                f'        <spectrum index="{index}" id="{ident}" defaultArrayLength="{peaks}">\n',
                f'          <cvParam cvRef="MS" accession="MS:1000511" name="ms level" value="{level}"/>\n',
                '          <cvParam cvRef="MS" accession="{}" name="{}" value=""/>\n'.format(
                    *(
                        ("MS:1000579", "MS1 spectrum")
                        if level == 1
                        else ("MS:1000580", "MSn spectrum")
                    )
                ),
                '          <cvParam cvRef="MS" accession="MS:1000130" name="positive scan" value=""/>\n',
                '          <cvParam cvRef="MS" accession="MS:1000127" name="centroid spectrum" value=""/>\n',
            ]
            if with_tic:
                parts.append(
                    f'          <cvParam cvRef="MS" accession="MS:1000504" name="base peak m/z" value="{mz[top] if peaks else 0:.6f}" unitCvRef="MS" unitAccession="MS:1000040" unitName="m/z"/>\n'
                    f'          <cvParam cvRef="MS" accession="MS:1000505" name="base peak intensity" value="{intensity[top] if peaks else 0:.6f}" unitCvRef="MS" unitAccession="MS:1000131" unitName="number of detector counts"/>\n'
                    f'          <cvParam cvRef="MS" accession="MS:1000285" name="total ion current" value="{tic:.6f}"/>\n'
                )
            filter_string = (
                "FTMS + p NSI Full ms [350.0000-1800.0000]"
                if level == 1
                else f"FTMS + c NSI d Full ms2 {precursor_mz:.4f}@hcd28.00 [110.0000-2000.0000]"
            )
            parts.append(
                '          <scanList count="1">\n'
                '            <cvParam cvRef="MS" accession="MS:1000795" name="no combination" value=""/>\n'
                '            <scan instrumentConfigurationRef="IC1">\n'
                f'              <cvParam cvRef="MS" accession="MS:1000016" name="scan start time" value="{rt_value:.6f}" unitCvRef="UO" unitAccession="{unit[0]}" unitName="{unit[1]}"/>\n'
                f'              <cvParam cvRef="MS" accession="MS:1000512" name="filter string" value="{filter_string}"/>\n'
                f'              <cvParam cvRef="MS" accession="MS:1000927" name="ion injection time" value="{iit:.6f}" unitCvRef="UO" unitAccession="UO:0000028" unitName="millisecond"/>\n'
                '              <scanWindowList count="1">\n'
                "                <scanWindow>\n"
                f'                  <cvParam cvRef="MS" accession="MS:1000501" name="scan window lower limit" value="{low}" unitCvRef="MS" unitAccession="MS:1000040" unitName="m/z"/>\n'
                f'                  <cvParam cvRef="MS" accession="MS:1000500" name="scan window upper limit" value="{high}" unitCvRef="MS" unitAccession="MS:1000040" unitName="m/z"/>\n'
                "                </scanWindow>\n"
                "              </scanWindowList>\n"
                "            </scan>\n"
                "          </scanList>\n"
            )
            if level == 2:
                precursor_mz = float(rng.uniform(400.0, 1200.0))
                charge = (
                    ""
                    if rng.random() < unknown_charge
                    else str(int(rng.choice([1, 2, 3, 4, 5], p=[0.05, 0.5, 0.3, 0.1, 0.05])))
                )
                charge_line = (
                    f'                  <cvParam cvRef="MS" accession="MS:1000041" name="charge state" value="{charge}"/>\n'
                    if charge
                    else ""
                )
                master = index - index % cycle + 1
                parts.append(
                    '          <precursorList count="1">\n'
                    f'            <precursor spectrumRef="controllerType=0 controllerNumber=1 scan={master}">\n'
                    "              <isolationWindow>\n"
                    f'                <cvParam cvRef="MS" accession="MS:1000827" name="isolation window target m/z" value="{precursor_mz:.6f}" unitCvRef="MS" unitAccession="MS:1000040" unitName="m/z"/>\n'
                    '                <cvParam cvRef="MS" accession="MS:1000828" name="isolation window lower offset" value="0.7" unitCvRef="MS" unitAccession="MS:1000040" unitName="m/z"/>\n'
                    '                <cvParam cvRef="MS" accession="MS:1000829" name="isolation window upper offset" value="0.7" unitCvRef="MS" unitAccession="MS:1000040" unitName="m/z"/>\n'
                    "              </isolationWindow>\n"
                    '              <selectedIonList count="1">\n'
                    "                <selectedIon>\n"
                    f'                  <cvParam cvRef="MS" accession="MS:1000744" name="selected ion m/z" value="{precursor_mz:.6f}" unitCvRef="MS" unitAccession="MS:1000040" unitName="m/z"/>\n'
                    f"{charge_line}"
                    "                </selectedIon>\n"
                    "              </selectedIonList>\n"
                    "              <activation>\n"
                    '                <cvParam cvRef="MS" accession="MS:1000422" name="beam-type collision-induced dissociation" value=""/>\n'
                    '                <cvParam cvRef="MS" accession="MS:1000045" name="collision energy" value="28.0" unitCvRef="UO" unitAccession="UO:0000266" unitName="electronvolt"/>\n'
                    "              </activation>\n"
                    "            </precursor>\n"
                    "          </precursorList>\n"
                )
            compression = (
                ("MS:1000574", "zlib compression") if compress else ("MS:1000576", "no compression")
            )
            parts.append('          <binaryDataArrayList count="2">\n')
            for values, kind in (
                (mz, ("MS:1000514", "m/z array", "MS:1000040", "m/z")),
                (
                    intensity,
                    ("MS:1000515", "intensity array", "MS:1000131", "number of detector counts"),
                ),
            ):
                data = _encode(values, compress)
                parts.append(
                    _ARRAY.format(
                        length=len(data),
                        compression=compression[0],
                        compression_name=compression[1],
                        kind=kind[0],
                        kind_name=kind[1],
                        unit=kind[2],
                        unit_name=kind[3],
                        data=data,
                    )
                )
            parts.append("          </binaryDataArrayList>\n        </spectrum>\n")
            out.write("".join(parts))
        out.write("      </spectrumList>\n    </run>\n  </mzML>\n")
        index_offset = out.offset
        lines = ['  <indexList count="1">\n    <index name="spectrum">\n']
        lines += [f'      <offset idRef="{ident}">{offset}</offset>\n' for ident, offset in offsets]
        lines.append("    </index>\n  </indexList>\n")
        lines.append(f"  <indexListOffset>{index_offset}</indexListOffset>\n  <fileChecksum>")
        out.write("".join(lines))
        out.write(f"{out.sha1.hexdigest()}</fileChecksum>\n</indexedmzML>\n")
    return target
