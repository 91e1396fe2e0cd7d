"""Online: per dataset, what its online job received, learned and dropped; the reported episodes with their outcome and
what was learned from each (with the delay until searchable); deleting an episode and everything learned from it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lbi.v1 import episodes_pb2 as epb
from lbi.v1 import retrieval_pb2 as rpb
from web_console.views import as_dict
from web_console.web import BadForm, checked_form, redirect, render, services, session_of


def _episode(record: epb.EpisodeRecord) -> dict[str, Any]:
    data = as_dict(record)
    data["outcome"] = epb.EpisodeOutcome.Name(record.outcome).removeprefix("EPISODE_OUTCOME_").lower()
    data["ended"] = record.ended_at.ToSeconds()
    return data


async def online_page(request: Request) -> Response:
    api = services(request)
    listed = await api.retrieval.call("ListDatasets", rpb.ListDatasetsRequest())
    rows = []
    for d in listed.datasets:
        stats = await api.episodes.call("GetOnlineStats", epb.GetOnlineStatsRequest(dataset=d.name))
        rows.append(as_dict(stats))
    return render(request, "online.html", rows=rows)


async def dataset_episodes(request: Request) -> Response:
    name = request.path_params["name"]
    api = services(request)
    stats = await api.episodes.call("GetOnlineStats", epb.GetOnlineStatsRequest(dataset=name))
    page = await api.episodes.call(
        "ListEpisodes",
        epb.ListEpisodesRequest(dataset=name, page_size=50, page_token=request.query_params.get("after", "")),
    )
    return render(
        request,
        "online_dataset.html",
        dataset=name,
        stats=as_dict(stats),
        episodes=[_episode(e) for e in page.episodes],
        next_after=page.next_page_token,
        total=page.total,
        params=dict(request.query_params),
    )


async def _one(request: Request) -> tuple[str, dict[str, Any]]:
    name, episode_id = request.path_params["name"], request.path_params["episode_id"]
    page = await services(request).episodes.call(
        "ListEpisodes", epb.ListEpisodesRequest(dataset=name, episode_ids=[episode_id], full=True)
    )
    if not page.episodes:
        raise BadForm(f"dataset {name!r} has no reported episode {episode_id!r} (or it was deleted)", 404)
    return name, _episode(page.episodes[0])


async def episode_page(request: Request) -> Response:
    name, episode = await _one(request)
    return render(request, "episode.html", dataset=name, episode=episode, may_write=session_of(request).may_write(name))


async def confirm_delete(request: Request) -> Response:
    name, episode = await _one(request)
    return render(
        request,
        "confirm.html",
        what=f"episode {episode['episode_id']} and the {len(episode.get('example_ids', []))} examples learned from it",
        action=request.url.path,
        back=f"/online/{name}/episodes/{episode['episode_id']}",
    )


async def delete_episode(request: Request) -> Response:
    await checked_form(request)
    name, episode_id = request.path_params["name"], request.path_params["episode_id"]
    result = await services(request).episodes.call(
        "DeleteEpisodes", epb.DeleteEpisodesRequest(dataset=name, episode_ids=[episode_id]), timeout=120
    )
    return redirect(request, f"/online/{name}?deleted={episode_id}&examples={result.examples}")


routes = [
    Route("/online", online_page, methods=["GET"]),
    Route("/online/{name}", dataset_episodes, methods=["GET"]),
    Route("/online/{name}/episodes/{episode_id}", episode_page, methods=["GET"]),
    Route("/online/{name}/episodes/{episode_id}/delete", confirm_delete, methods=["GET"]),
    Route("/online/{name}/episodes/{episode_id}/delete", delete_episode, methods=["POST"]),
]
