# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # The options of one job (plugins/module_utils/_job_spec.py, job_argument_spec), in snake_case;
    # the module sends them in the API's camelCase spelling, booleans as 0/1.
    DOCUMENTATION = r'''
options:
  name:
    description:
      - The job's unique name on the server.
      - 1 to 128 characters, ASCII letters, digits and C(.), C(_), C(:), C(@), C(+), C(-), starting with a letter or a
        digit (C(^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$)); no whitespace, no control character and no C(*), which
        means "all jobs" to the API. Another name is refused before any request.
    type: str
    required: true
  mode:
    description:
      - A live channel or a VOD (file) job.
    type: str
    choices: [live, vod]
    default: live
  gpu:
    description:
      - V(-1) runs the job on the CPU, a card index from C(dump) runs it on that card, V(auto) lets the module choose
        the card with the most room among those that can encode the job, as below.
      - With a card index the same capability check runs before the job starts.
      - The choice is made from ONE C(dump), sent only when a start is needed.
      - O(options.gpu) overrides it and cannot be combined with V(auto).
      - B(What dump says.) Per card, C(count) and C(percent). The contract lists them without defining them; the
        module reads C(count) as the number of jobs the card runs and C(percent) as the share of the card's job
        sessions they use, 100 when it is full (the vendor's sample A10 runs 3 jobs at 25, so it takes 12). A card's
        session limit is then C(count) x 100 / C(percent) jobs, known once the card, or another card of the same
        model on the server, runs a job. Also per card, C(enc) and C(dec) (encoder and decoder load in %) and C(used)
        of C(total) memory (MB).
      - B(How auto chooses.) 1. Only the cards whose model can encode every encoded video profile (its
        C(codec@pixelFormat) is in C(dump)'s C(supported)) are candidates. 2. A card at its session limit takes no
        more jobs; when no capable card has room, nothing is started and the module fails naming every card.
        3. A job that is started again (a change that needs a restart) first leaves its card, and stays there when that
        card can still take it (rules 1 and 2), so a restart never moves a channel for nothing. The module knows the card
        of a job it started from the C(@N) it adds to the job's C(_id), or, from a server that does not echo C(_id), from
        its record (see the notes). 4. Otherwise the card whose most-used
        resource would be the least used with the job on it wins (sessions, encoder, decoder and memory, each as a
        share of the card, with the job's part added, the card's average per job, or for an idle card that of a card
        of the same model, else of the server's other cards). Ties go to the card with the fewest jobs per GB of memory
        (on a server where no card runs a job yet, nothing is known of the limits, and the cards fill in proportion to
        their memory), then to the lower index.
      - The jobs of one M(sigma.media_server.sigma_jobs) task are placed one after another, each seeing the ones
        before it; jobs it stops or starts again leave their cards first.
      - B(Example.) A server runs 1 job on a GeForce card (C(percent) 33, so 3 sessions) and 4 on an A10 (C(percent)
        33, so 12). A new job would bring the GeForce to 67 % and the A10 to 42 %, so it goes to the A10, and so do the
        next ones until the A10 would pass 67 %. A lineup of 8 new jobs puts 7 on the A10 (11 of 12 sessions, 92 %) and
        1 on the GeForce (2 of 3, 67 %), where counting jobs would have put 6 of them on the GeForce. When one of them
        later changes its bitrate, it restarts on the card it runs on.
    type: raw
    default: -1
  input:
    description:
      - The input URL, a list of input URLs, or a dictionary with C(main) and C(backup) URLs.
      - Required unless O(state=absent).
      - A password in a URL is treated as a secret.
    type: raw
  profiles:
    description:
      - The output profiles (renditions), sent as C(profile).
    type: list
    elements: dict
    suboptions:
      id:
        description:
          - The profile id, referred to by O(targets[].select). Ids must be unique.
          - A hex value (V(0x100)) must be between V(0x10) and V(0x1ffe); it is also the output stream id.
        type: str
        required: true
      type:
        description: The kind of stream.
        type: str
        choices: [video, audio, data]
        default: video
      enable:
        description: Whether the profile is produced.
        type: bool
      codec:
        description:
          - Video V(h264) (server default), V(hevc) or V(copy); audio V(copy), V(aac) (server default), V(ac3),
            V(eac3) or V(mp2); data V(copy), or for VOD subtitles V(webvtt), V(ttml-text) or V(ttml-image).
        type: str
        choices: [h264, hevc, copy, aac, ac3, eac3, mp2, webvtt, ttml-text, ttml-image]
      stream_index:
        description: Which stream of the input (C(streamIndex)), 0 to 1000.
        type: int
      source_index:
        description: Which input (C(sourceIndex)), 0 to 1000.
        type: int
      bitrate:
        description: Bit rate, a number or a text such as V(2000k) or V(2M).
        type: raw
      minrate:
        description: Minimum video bit rate, as O(profiles[].bitrate).
        type: raw
      maxrate:
        description: Maximum video bit rate, as O(profiles[].bitrate).
        type: raw
      bufsize:
        description: Video rate-control buffer size, as O(profiles[].bitrate).
        type: raw
      sample_rate:
        description: Audio sample rate.
        type: int
        choices: [44100, 48000]
      channel:
        description: Audio channels.
        type: int
        choices: [1, 2, 6]
      profile:
        description:
          - For audio (codec aac only) V(aac_low), V(aac_he), V(aac_he_v2), V(aac_main), V(aac_ld), V(aac_eld).
          - For video V(baseline) (GPU only), V(main) or V(high), with O(profiles[].level).
        type: str
        choices: [aac_low, aac_he, aac_he_v2, aac_main, aac_ld, aac_eld, baseline, main, high]
      volume:
        description:
          - Audio volume, V(+5dB), V(-10dB), a factor such as V(0.5), or V(loudnorm) (EBU R128).
          - On a running live job a changed value is applied with C(update), without a restart.
        type: str
      language:
        description: Language, 2 letters for audio (for example V(en)), or the subtitle language (V(eng)).
        type: str
      group:
        description: Audio group.
        type: str
      label:
        description: Audio label.
        type: str
      fps:
        description: Video frame rate.
        type: float
        choices: [20.0, 25.0, 29.97, 30.0, 59.94, 60.0]
      pixel_format:
        description: Video pixel format (C(pixelFormat)); the server default is V(yuv420p).
        type: str
        choices: [yuv420p, yuv444p, yuv420p10le, yuv444p10le]
      width:
        description: Video width, 0 to 8192; 0 keeps the aspect ratio.
        type: int
      height:
        description: Video height, 0 to 8192; 0 keeps the aspect ratio.
        type: int
      scale_type:
        description: How the picture is scaled (C(scaleType)).
        type: str
        choices: [fitWidth, fitHeight, fitInside, fitCrop, fitBoth, source]
      cbr:
        description: Constant bit rate.
        type: bool
      cq:
        description: Constant quality, 0 to 51.
        type: int
      vmaf:
        description: Per-title encoding VMAF target, 90 to 92.
        type: int
      interlaced:
        description: Interlaced output.
        type: bool
      watermark:
        description: A per-profile watermark, sent as given.
        type: dict
      level:
        description: Video level; V(3.0) or V(4.0) with profile V(main), V(4.0), V(4.1) or V(4.2) with V(high).
        type: str
        choices: ['3.0', '4.0', '4.1', '4.2']
      preset:
        description: Encoder preset, on the CPU V(veryfast) or V(superfast), on a GPU V(llhp) or V(llhq).
        type: str
        choices: [veryfast, superfast, llhp, llhq]
      rc:
        description: GPU rate control (a GPU job only).
        type: str
        choices: [cbr_hq, cbr_hp, vbr_hq, vbr_hp]
      iframe:
        description: Keyframe interval, -1 follow O(targets[].manifest.ts), 0 follow the source, 1-16 seconds, 17-300 frames.
        type: int
      hdr:
        description:
          - HDR handling. Anything but V(none) needs codec V(hevc), a 10-bit O(profiles[].pixel_format) and
            mp4-based outputs (dash, mss, mp4, or hls with O(targets[].manifest.fmp4)).
        type: str
        choices: [copy, none, hdr10, hlg10, pq10]
      page:
        description: VOD subtitles, the DVB teletext page (for example V(778)); data profiles of VOD jobs only.
        type: int
      cfg:
        description: Styling of V(ttml-text) subtitles.
        type: dict
        suboptions:
          font:
            description: Font name.
            type: str
          size:
            description: Font size.
            type: int
          color:
            description: Text colour.
            type: str
          out_size:
            description: Outline size (C(outSize)).
            type: int
          out_color:
            description: Outline colour (C(outColor)).
            type: str
          bgr:
            description: Background colour.
            type: str
  targets:
    description:
      - The outputs, sent as C(target).
    type: list
    elements: dict
    suboptions:
      enable:
        description: Whether the output is produced.
        type: bool
      format:
        description: Output format.
        type: str
        required: true
        choices: [rtmp, udp, hls, dash, mss, hds, mp3, mp4, srt, aac, wav, webvtt]
      url:
        description: Stream URL or output folder. A password in the URL is treated as a secret.
        type: str
        required: true
      select:
        description:
          - Profile ids to put in this output. An element is a profile id, a list of ids forming one group, or a
            dictionary with C(title), C(id) (UDP program id), C(drm) and C(select) (a list of profile ids).
          - Every id must be defined in O(profiles). Empty or absent, every profile.
        type: list
        elements: raw
      drm:
        description:
          - Encryption of an hls or dash output. Either direct keys or a key server.
          - The keys, the key URI, the key server and its request body are secrets, masked in every result.
          - When every target that has DRM carries the same settings, a changed value is applied to a running live
            job with C(update), without a restart.
        type: dict
        suboptions:
          type:
            description:
              - V(AES_128) and V(SAMPLE_AES) (FairPlay) for hls; V(SAMPLE_AES_CTR) and V(SAMPLE_AES_CBC) for dash
                or hls with O(targets[].manifest.fmp4).
            type: str
            choices: [AES_128, SAMPLE_AES, SAMPLE_AES_CTR, SAMPLE_AES_CBC]
          filter:
            description: Which DRM systems go into the manifest.
            type: list
            elements: str
            choices: [fairplay, widevine, playready, hls_widevine, hls_playready, dash_widevine, dash_playready]
          uri:
            description: Key URI.
            type: str
          key:
            description: The key, base64.
            type: str
          key_id:
            description: The key id, base64 (C(keyId)).
            type: str
          iv:
            description: The initialisation vector, base64.
            type: str
          widevine:
            description: Widevine PSSH.
            type: str
          playready:
            description: PlayReady PSSH.
            type: str
          systems:
            description: DRM systems.
            type: list
            elements: dict
            suboptions:
              id:
                description: System id.
                type: str
              uri:
                description: The system's URI.
                type: str
              pssh:
                description: The system's PSSH.
                type: str
          expire_time:
            description: Key expiry time (C(expireTime)), sent as given.
            type: raw
          server:
            description: Key server URL.
            type: str
          body:
            description: Request body for the key server, sent as given.
            type: raw
      manifest:
        description:
          - Packaging settings of hls and dash outputs (C(segment) also for mp4).
          - When every hls and dash target carries the same non-empty O(targets[].manifest.header), a changed
            header value is applied to a running live job with C(update), without a restart.
        type: dict
        suboptions:
          ts:
            description: Segment length in seconds, 2 to 10.
            type: int
          enable_time:
            description: HLS C(enableTime).
            type: bool
          append_list:
            description: HLS C(appendList).
            type: bool
          end_list:
            description: HLS C(endList).
            type: bool
          cache:
            description: Segments kept after they leave the playlist, -1 or more (at most 1000000).
            type: int
          count:
            description: Segments in the playlist, 0 for all (at most 1000000).
            type: int
          single_file:
            description: One file (C(singleFile)).
            type: bool
          fmp4:
            description: Fragmented MP4 segments.
            type: bool
          persistent:
            description: Persistent output.
            type: bool
          use_thread:
            description: C(useThread).
            type: bool
          master_name:
            description: Master playlist name pattern (C(masterName)).
            type: str
          master_path:
            description: C(masterPath).
            type: str
          master_extra:
            description: Extra master playlist lines (C(masterExtra)).
            type: str
          ts_name:
            description: Segment name pattern (C(tsName)), for example V(%%06d.ts).
            type: str
          ts_prefix:
            description: C(tsPrefix).
            type: str
          init_name:
            description: C(initName).
            type: str
          init_prefix:
            description: C(initPrefix).
            type: str
          init_path:
            description: C(initPath).
            type: str
          index_name:
            description: DASH C(indexName).
            type: str
          index_path:
            description: DASH C(indexPath).
            type: str
          index_prefix:
            description: DASH C(indexPrefix).
            type: str
          chunked:
            description: Low-latency chunk length in seconds, at least 0.01 (at most 3600).
            type: float
          chunked_type:
            description: Low-latency chunk type (C(chunkedType)).
            type: str
            choices: [fragment, range, combine]
          target_latency:
            description: C(targetLatency).
            type: float
          min_latency:
            description: C(minLatency).
            type: float
          max_latency:
            description: C(maxLatency).
            type: float
          segment:
            description: MP4 cut length in seconds.
            type: float
          header:
            description: HTTP headers of the output, sent as given.
            type: dict
          buffer:
            description: Buffer, 0 to 60.
            type: int
          thumb:
            description: Trick play, the id of a thumb in O(thumbs).
            type: str
          iframe:
            description: Trick play, I-frame playlists.
            type: bool
      cc:
        description: Closed captions of a VOD packager output.
        type: dict
        suboptions:
          name:
            description: Caption track name.
            type: str
          type:
            description: CEA-608 or CEA-708.
            type: int
            required: true
            choices: [608, 708]
          id:
            description: Channel, 1 to 4 for 608, 1 to 63 for 708.
            type: int
          lang:
            description: Language, 3 letters.
            type: str
      join:
        description: Merge recorded files (VOD jobs).
        type: dict
        suboptions:
          callback:
            description: URL the server POSTs its report to. A password in the URL is treated as a secret.
            type: str
          max_speed:
            description: C(maxSpeed), 1 or more (at most 1000000; server default 100).
            type: int
          clean:
            description: Clean up after joining.
            type: bool
  watermarks:
    description:
      - Image overlays, sent as the list C(watermark).
      - On a running live job, a changed O(watermarks[].x), O(watermarks[].y) or O(watermarks[].enable) of a
        watermark with an O(watermarks[].id) is applied with C(update), without a restart.
    type: list
    elements: dict
    suboptions:
      id:
        description: Watermark id, unique, used to toggle or move it on a running job.
        type: str
      url:
        description: Image URL.
        type: str
      x:
        description: Horizontal position, 0 to 1920 (on a 1920x1080 frame).
        type: int
      y:
        description: Vertical position, 0 to 1080.
        type: int
      scale:
        description: Scale, 0.1 to 3.0.
        type: float
      media_scale:
        description: C(mediaScale), 0.1 to 3.0.
        type: float
      delay:
        description: Delay in seconds, 0 to 120.
        type: int
      enable:
        description: Whether the watermark is shown.
        type: bool
  thumbs:
    description: Thumbnails, sent as the list C(thumb).
    type: list
    elements: dict
    suboptions:
      id:
        description: Thumb id, unique.
        type: str
      enable:
        description: Whether thumbnails are produced.
        type: bool
      width:
        description: Width, 100 to 1920.
        type: int
      delay:
        description: Seconds between thumbnails, 1 to 60.
        type: int
      col:
        description: Tile columns, 0 to 10.
        type: int
      row:
        description: Tile rows, 0 to 10.
        type: int
      name:
        description: File name pattern, for example V(%d.jpg).
        type: str
      url:
        description: Output folder, or V(-).
        type: str
  options:
    description: Job options, sent as C(option).
    type: dict
    suboptions:
      sync_copy:
        description: C(syncCopy).
        type: int
        choices: [0, 1, 2]
      timeout:
        description: Input timeout in seconds, 2 to 10 (server default 6).
        type: int
      sync_stream:
        description: C(syncStream), 1 or more (at most 1000000).
        type: int
      gpu:
        description: Overrides O(gpu) on the server; -1 (CPU) or a card index from 0 to 64.
        type: int
      filter_complex:
        description: An ffmpeg-style filter graph (C(filterComplex)).
        type: str
      xerror:
        description: Stop on decoding errors.
        type: bool
      max_speed:
        description: C(maxSpeed), 0.1 to 10 (server default 1.1).
        type: float
      loop:
        description: Loop count, 0 or more (at most 1000000000).
        type: int
      limit_input:
        description: C(limitInput), 256 to 2048 (server default 1024).
        type: int
      copyts:
        description: Copy timestamps.
        type: bool
      fix_aac:
        description: C(fixAac).
        type: bool
      sound:
        description: Sound file.
        type: str
      preload:
        description: Preload.
        type: bool
      id3:
        description: ID3 metadata.
        type: bool
      cc:
        description: Copy embedded closed captions.
        type: bool
      blackout:
        description: Blackout.
        type: dict
        suboptions:
          input:
            description: The blackout input URL.
            type: str
      s3_config:
        description:
          - Path on the server of a JSON file with C(accessKeyId), C(secretAccessKey), C(bucket), C(endpoint) and
            C(region) (C(s3Config)). Keys given inline through O(extra) are masked.
        type: str
  weight:
    description: A load weight stored with the job and echoed by C(progress), 0 or more (at most 1000000000).
    type: int
  extra:
    description:
      - Raw top-level fields merged into the C(start) body last, for fields the API has that the module does not
        model. Keys replace the module's; V(name), V(mode) and V(type) are refused.
      - A job whose C(start) body (JSON) would exceed 1 MiB is refused before any request, naming the job and the size.
      - An C(_id) set here replaces the configuration digest; then only the fields C(progress) reports are compared
        (a warning says so).
      - Values of secret-looking keys (C(key), C(keyId), C(secretAccessKey), C(password), C(token)...) are masked.
    type: dict
'''
